"""Fieldwork (analysts): waves, assignments and progress.

``waves`` finds waves; ``assignments`` lists a canvasser's households; ``progress``
counts visits and completes per community, always within the user's scope.
"""
