"""Area pages: browsing and the area page (pages), management forms (manage), the public 亮身份 page (public)."""
