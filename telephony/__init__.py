"""Carrier adapters: each drives a carrier-independent :class:`voiceagent.call.CallSession`."""
