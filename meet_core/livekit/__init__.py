"""LiveKit: the server API client, token minting and participant colors."""
