"""Saved list views: a user's named columns, filter and sort of one form's list."""
