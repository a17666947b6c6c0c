"""Live events for signed-in users (a screen pop on an incoming call …): see ``bus``."""
