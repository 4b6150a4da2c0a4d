"""Results (secretaries, analysts): rates against the target, the community and overview
pages (``views``, ``pages``, ``rates``), the analyst's workspace (``workspace``),
weighting and exports. ``indicators`` names what an instrument measures.
"""
