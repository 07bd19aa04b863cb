"""Rooms and the accesses people have to them."""
