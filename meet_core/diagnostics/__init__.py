"""The pre-join connection test (spec/api.md §2.11, services.md §9.5): a throwaway LiveKit room."""
