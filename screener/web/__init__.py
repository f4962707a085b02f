"""Thin blueprints: they parse requests, call the rules or the store, and render."""
