from django.db import migrations

# The usual care subjects (关爱对象) of community work; a deployment may rename, add or retire them.
CARE_TAGS = [
    ("elderly_alone", "独居老人", "独自居住的60岁以上老人"),
    ("empty_nest", "空巢老人", "子女不在身边的老人"),
    ("advanced_age", "高龄老人", "80岁以上老人"),
    ("disabled", "残疾人", "持有残疾人证"),
    ("left_behind_child", "留守儿童", "父母外出务工的未成年人"),
    ("subsistence", "低保户", "享受最低生活保障"),
    ("extreme_hardship", "特困人员", "特困供养人员"),
    ("special_care", "优抚对象", "退役军人、烈属等优抚对象"),
    ("serious_illness", "大病患者", "重大疾病患者"),
    ("mental_disorder", "严重精神障碍患者", "在册严重精神障碍患者"),
]


def seed(apps, schema_editor):
    CareTag = apps.get_model("registry", "CareTag")
    for position, (code, name, description) in enumerate(CARE_TAGS, start=1):
        CareTag.objects.get_or_create(code=code, defaults={"name": name, "description": description,
                                                           "position": position})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
