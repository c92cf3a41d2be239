"""Names for the demo district.

Street names and a few community names are the public ones from news reports about Chenghua
District; every other community, compound and building name is synthetic, and so is every
person (surname + given name drawn from common characters).
"""

DISTRICT_NAME = "成华区"
DISTRICT_CODE = "510108"  # GB/T 2260
DISTRICT_ADDRESS = "四川省成都市成华区"

# In this order they get street codes 001-012; the street polygons are handed out west to east,
# so 保和, 龙潭 and 青龙 land on the eastern side as on the real map.
STREET_NAMES = [
    "猛追湾街道",
    "双桥子街道",
    "府青路街道",
    "二仙桥街道",
    "跳蹬河街道",
    "万年场街道",
    "双水碾街道",
    "圣灯街道",
    "白莲池街道",
    "保和街道",
    "龙潭街道",
    "青龙街道",
]
SMALL_SCALE_STREET = "保和街道"

# Community names reported in the news; the rest of each street's communities are synthetic.
KNOWN_COMMUNITIES = {
    "保和街道": ["和美社区", "和欣社区"],
    "青龙街道": ["致强社区"],
    "府青路街道": ["桃源社区"],
    "龙潭街道": ["向龙社区"],
}

COMMUNITY_FIRST = "新华兴东安福锦龙翠建民光明瑞康祥泰宏荣昌盛嘉怡云蓉景春双望"
COMMUNITY_SECOND = "苑园林桥坊泉湾源庭塘院里湖岭港"

COMPOUND_FIRST = [
    "锦绣",
    "金色",
    "阳光",
    "东方",
    "翡翠",
    "桂花",
    "芙蓉",
    "玉林",
    "紫荆",
    "银杏",
    "蓝湾",
    "香榭",
    "书香",
    "和顺",
    "清水",
    "青枫",
    "麒麟",
    "天府",
    "水岸",
    "南山",
    "北城",
    "建材",
    "电力",
    "机车",
    "纺织",
    "邮电",
    "铁路",
    "丽景",
    "雅园",
    "盛世",
    "怡心",
    "润和",
    "嘉禾",
    "万和",
    "沙河",
    "锦江",
    "熊猫",
    "东郊",
    "华林",
    "秀苑",
]
COMPOUND_SECOND = ["苑", "花园", "家园", "雅居", "新村", "小区", "公寓", "华庭", "名城", "宿舍"]
ROADS = [
    "建设路",
    "二环路东二段",
    "双林路",
    "府青路",
    "杉板桥路",
    "万年场路",
    "猛追湾街",
    "双桥路",
    "圣灯路",
    "龙潭路",
    "青龙街",
    "保和东路",
    "成渝立交路",
    "东三环路",
    "八里庄路",
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万严武戴孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯秀云飞琳雪梅丹俊峰志强"
    "海燕晓东春燕成林小红德明永福淑珍佳怡子涵思远婷欣然雨桐子轩浩然梓萱一诺晨曦家豪嘉怡"
)

# Dedicated grids (专属网格): (street, community index within the street, kind, name).
DEDICATED_GRIDS = [
    ("保和街道", 0, "hospital", "和美医院专属网格"),
    ("保和街道", 0, "office_tower", "东客站商务大厦专属网格"),
    ("保和街道", 1, "mall", "保和商业广场专属网格"),
    ("保和街道", 2, "park", "东郊创智产业园专属网格"),
    ("府青路街道", 0, "school", "桃源实验学校专属网格"),
    ("龙潭街道", 0, "enterprise", "龙潭智造企业专属网格"),
]

DEPARTMENTS = [
    ("CG", "区城管局", "028-84300101"),
    ("ZJ", "区住建局", "028-84300102"),
    ("GA", "区公安分局", "028-84300103"),
    ("SJ", "区市场监管局", "028-84300104"),
    ("YJ", "区应急管理局", "028-84300105"),
    ("MZ", "区民政局", "028-84300106"),
    ("WJ", "区卫健局", "028-84300107"),
    ("SW", "区水务局", "028-84300108"),
]

# Duty lists as grid-governance practice writes them; the district sets the standard list.
DUTIES = {
    "microgrid_member": [
        ("信息采集", "掌握微网格内人、地、事、物、组织基本情况，及时更新信息。"),
        ("隐患排查", "巡查消防、燃气、房屋、电梯等安全隐患，发现即报。"),
        ("矛盾调解", "第一时间介入邻里纠纷，小事不出小区。"),
        ("政策宣传", "入户宣传政策法规，传达社区通知。"),
        ("便民服务", "为独居老人等关爱对象代办、帮办，反映群众诉求。"),
    ],
    "microgrid_leader": [
        ("统筹微网格", "组织微网格员分工巡查，每周至少走访一遍。"),
        ("事件上报", "对不能当场解决的事件按流程上报网格长。"),
        ("亮身份", "在楼栋公示身份和联系方式，做到人熟、地熟、情况熟。"),
    ],
    "grid_leader": [
        ("网格统筹", "统筹网格内微网格员、专属网格力量，落实网格责任。"),
        ("事件处置", "受理微网格上报事件，协调办理，难事报社区。"),
        ("走访研判", "定期走访重点人群，研判网格风险并形成台账。"),
        ("考核督导", "督导微网格员履职，组织每月例会。"),
    ],
    "dedicated_leader": [
        ("单位联络", "联络专属网格内企业、商户或机构，落实安全主体责任。"),
        ("隐患自查", "组织单位开展消防、安全生产隐患自查自改。"),
        ("诉求反映", "收集职工和顾客诉求，及时上报社区。"),
    ],
    "community_staff": [
        ("派单协调", "受理网格上报事件，派单并协调相关力量办理。"),
        ("吹哨报到", "对社区无法解决的事项吹哨，召集职能部门报到。"),
        ("台账管理", "维护人房信息台账，核查网格员采集的数据。"),
    ],
    "street_staff": [
        ("联调联处", "对社区上报的难事组织街道联调。"),
        ("督办考核", "对超期事件督办，组织网格员考核评优。"),
    ],
    "department_handler": [
        ("领办处置", "在时限内领办派遣事件并反馈结果。"),
        ("报到响应", "接到吹哨后按时到场报到。"),
    ],
}

# 和美社区 adapts the micro-grid member duties to its many elderly residents.
ADAPTED_COMMUNITY = "和美社区"
ADAPTED_DUTIES = {
    "microgrid_member": [
        ("信息采集", "每月核对一次楼栋住户信息，重点关注独居、空巢老人。"),
        ("隐患排查", "每周巡查楼道堆物、电瓶车入户和燃气安全。"),
        ("关爱探访", "每周电话或上门问候独居老人一次。"),
        ("矛盾调解", "邻里纠纷当日介入，调解不成报网格长。"),
        ("政策宣传", "在楼栋群及时转发社区通知和惠民政策。"),
        ("便民服务", "为行动不便的居民代办就医预约、代购药品。"),
    ],
}
