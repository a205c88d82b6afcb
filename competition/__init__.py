"""Competition: the event itself: who, what, where and when."""
