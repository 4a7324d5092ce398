"""Twilio: TwiML webhooks, the Media Streams websocket, signatures and call control."""
