"""Independent verification of a chain: trust nothing but the genesis file."""
