from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fengchao.accounts"
    label = "accounts"
