"""The browser softphone: an admin talks to the agent from the staff dashboard ("Try a call")."""
