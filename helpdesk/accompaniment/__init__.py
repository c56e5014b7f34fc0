"""Accompaniment sessions, after OTPGL authorisation (a later issue)."""
