"""Setup (admin): geography, users, the household frame and questionnaires.

``views`` is the admin blueprint; ``frame``, ``users`` and ``questionnaires`` are its
services; ``cli`` the ``flask`` commands that do the same from files.
"""
