from django.conf import settings


def navigation(request):
    """Menu entries by role, and map settings for templates."""
    from fengchao.accounts.navigation import menu_for

    user = getattr(request, "user", None)
    return {
        "nav_items": menu_for(user) if user is not None and user.is_authenticated else [],
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
