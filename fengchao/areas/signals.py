from django.dispatch import Signal

# Sent inside the moving transaction, so apps whose hot tables carry lineage ids
# (street/community/grid pks) update them atomically with the move.
# kwargs: area (after the move), old_path, new_path
subtree_moved = Signal()
