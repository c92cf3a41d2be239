"""The points mall's pages, mounted at /mall/: the member's mall and orders, the merchant's verify screen
and statement, and the staff's mall admin (/mall/manage/)."""

from django.urls import path

from .views import member, merchant, staff

app_name = "mall"

urlpatterns = [
    # members
    path("", member.home, name="home"),
    path("items/<int:pk>/", member.item_page, name="item"),
    path("items/<int:pk>/order", member.order_item, name="order_item"),
    path("items/<int:pk>/picture", member.item_picture, name="picture"),
    path("orders/", member.my_orders, name="orders"),
    path("orders/<int:pk>/", member.order_page, name="order"),
    path("orders/<int:pk>/cancel", member.cancel, name="cancel"),
    # merchants (and staff)
    path("verify/", merchant.verify, name="verify"),
    path("orders/<int:pk>/refund", merchant.refund, name="refund"),
    path("statement/", merchant.my_statement, name="my_statement"),
    path("statement/<int:pk>/", merchant.statement, name="statement"),
    path("statement/<int:pk>/statement.xlsx", merchant.statement_xlsx, name="statement_xlsx"),
    # staff
    path("manage/", staff.merchant_list, name="merchants"),
    path("manage/merchants/new/", staff.merchant_new, name="merchant_new"),
    path("manage/merchants/<int:pk>/", staff.merchant_detail, name="merchant"),
    path("manage/merchants/<int:pk>/edit/", staff.merchant_edit, name="merchant_edit"),
    path("manage/merchants/<int:pk>/users", staff.merchant_users, name="merchant_users"),
    path("manage/merchants/<int:pk>/active", staff.merchant_active, name="merchant_active"),
    path("manage/items/", staff.item_list, name="items"),
    path("manage/items/new/", staff.item_new, name="item_new"),
    path("manage/items/<int:pk>/edit/", staff.item_edit, name="item_edit"),
    path("manage/items/<int:pk>/restock", staff.restock, name="restock"),
    path("manage/orders/", staff.order_list, name="manage_orders"),
    path("manage/report/", staff.report, name="report"),
    path("manage/report.xlsx", staff.report_xlsx, name="report_xlsx"),
]
