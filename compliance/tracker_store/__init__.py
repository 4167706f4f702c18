"""The encrypted Rasa tracker store, its event codec and conversation retention."""

from compliance.tracker_store.retention import delete_conversation, delete_idle_conversations
from compliance.tracker_store.store import EncryptedTrackerStore

__all__ = ["EncryptedTrackerStore", "delete_conversation", "delete_idle_conversations"]
