"""Accompaniment: councils ask for help to carry out an action with the platform; the OTPGL assesses and
authorises; advisers then hold sessions, sent as calendar invitations."""
