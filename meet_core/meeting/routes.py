"""The in-meeting control routes: webhook, moderation, creation callback, invitations."""

from meet_core.meeting import callback, invitations, participants, webhook

ROUTES = [*webhook.ROUTES, *participants.ROUTES, *callback.ROUTES, *invitations.ROUTES]
