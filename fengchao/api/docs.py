"""An API reference page that works offline and under the site's CSP (no script at all).

ninja's Swagger page needs 'ninja' in INSTALLED_APPS for its bundled assets, or it loads
them from a CDN, which our CSP (script-src 'self') blocks. This page is rendered on the
server from the same OpenAPI document.
"""

from pathlib import Path

from django.http import HttpResponse
from django.template import engines
from django.urls import reverse
from ninja.openapi.docs import DocsBase

TEMPLATE = Path(__file__).parent / "templates" / "api_docs.html"
METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema: dict) -> list[dict]:
    """The operations of an OpenAPI document, flattened for display, in path order."""
    security_names = {
        name: scheme.get("scheme") or scheme.get("in")
        for name, scheme in schema.get("components", {}).get("securitySchemes", {}).items()
    }
    rows = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                {
                    "name": p["name"],
                    "where": p["in"],
                    "required": p.get("required", False),
                    "type": _type_name(p.get("schema", {})),
                    "description": p.get("description") or p.get("schema", {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": op.get("operationId", f"{method}{path}"),
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "has_body": "requestBody" in op,
                    "responses": sorted(op.get("responses", {}), key=str),
                    "auth": sorted({security_names.get(n, n) for req in op.get("security", []) for n in req}),
                }
            )
    return rows


def _type_name(schema: dict) -> str:
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_name(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return str(schema.get("type", ""))


class ServerRenderedDocs(DocsBase):
    def render_page(self, request, api, **kwargs):
        schema = api.get_openapi_schema(path_params=kwargs)
        template = engines["django"].from_string(TEMPLATE.read_text(encoding="utf-8"))
        context = {
            "api_title": api.title,
            "api_version": api.version,
            "openapi_url": reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs),
            "operations": operations(schema),
        }
        return HttpResponse(template.render(context, request))
