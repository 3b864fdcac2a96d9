"""The local Twilio sandbox: a Twilio-compatible stand-in for development, demos and tests.

It answers the REST calls the console makes through twilio-python, sends signed status
callbacks and inbound-text webhooks back to the console, and serves a browser page that
plays the part of a client's phone. Nothing here ever reaches the real Twilio.
"""
