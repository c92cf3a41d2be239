"""The mall in the admin is read-only: merchants, items, stock and orders change only through the services
(the mall admin pages at /mall/manage/, the API, the worker), which compare-and-set and write the audit."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Item, Merchant, Order


@admin.register(Merchant)
class MerchantAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "area", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["name", "merchant", "area", "category", "price", "stock", "per_person_limit", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "item", "merchant", "quantity", "points", "state", "verified_at"]
    list_filter = ["state"]
    date_hierarchy = "created_at"
    # The code is the member's to show: not even the admin lists a code that can still be redeemed.
    exclude = ["code", "idempotency_key"]
