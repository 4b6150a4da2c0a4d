"""The simulated demo city: geography, households, accounts and simulated waves."""
