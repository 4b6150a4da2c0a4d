"""The canvasser's tablet: the offline app (``views``), its JSON API (``api``), what it
downloads for a day (``households``), and the exactly-once sync (``sync``, ``payloads``).
"""
