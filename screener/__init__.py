"""Screener: isotretinoin discussion screening for acne clinics.

Importing the package imports nothing else: ``import screener.rules`` must stay free of
Flask, WTForms and SQLAlchemy (the rules are pure).
"""
