"""Coded values of the registry. Their Chinese labels are what the Excel dropdowns offer."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_TAIWAN = "hmt_permit", _("Hong Kong, Macao or Taiwan permit")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreign permanent resident ID")
    OTHER = "other", _("Other document")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered (户籍)")
    RESIDENT = "resident", _("Resident (常住)")
    FLOATING = "floating", _("Floating (流动)")
    OVERSEAS = "overseas", _("Overseas (境外)")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class ResidentStatus(models.TextChoices):
    LIVING = "living", _("Living here")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class PlaceKind(models.TextChoices):
    SHOP = "shop", _("Shop")
    ENTERPRISE = "enterprise", _("Enterprise")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital or clinic")
    PUBLIC_PLACE = "public_place", _("Public place")
    RENTAL_HOUSING = "rental_housing", _("Rental housing")


class OrganisationKind(models.TextChoices):
    PARTY_BRANCH = "party_branch", _("Party branch")
    OWNERS_COMMITTEE = "owners_committee", _("Owners' committee")
    PROPERTY_COMPANY = "property_company", _("Property company")
    SOCIAL_ORGANISATION = "social_organisation", _("Social organisation")
    DEPARTMENT = "department", _("Government department")
    STATIONED_UNIT = "stationed_unit", _("Stationed unit")


class AccessAction(models.TextChoices):
    REVEAL = "reveal", _("Viewed unmasked")
    EXPORT = "export", _("Exported unmasked")
