"""In-meeting control: the LiveKit webhook, participant moderation, the room-creation
callback and invitations (spec/api.md §2.6-§2.7, spec/services.md §3, §6, §9.1-§9.2)."""
