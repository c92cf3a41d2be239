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

# --- the population (人口): residents, places and organisations ----------------------------------


def _shares(text: str) -> dict[str, float]:
    return {item[0]: float(item[1:]) for item in text.split()}


# Surnames with their approximate share in per cent (2020 census; Sichuan leans to 刘, 罗, 何, 曾, 邓,
# 蒋 and 廖); SURNAMES beyond this table share what is left, fewer the further down the list.
SURNAME_SHARES = _shares(
    "王7.1 李7.0 张6.7 刘5.6 陈4.9 杨3.4 黄2.2 赵2.0 吴1.9 周1.9 徐1.4 孙1.2 马1.2 "
    "朱1.2 胡1.3 郭1.1 何1.4 高1.0 林0.9 罗1.2 郑0.8 梁0.7 谢0.8 宋0.6 唐0.8 许0.6 "
    "韩0.5 冯0.6 邓0.8 曹0.5 彭0.6 曾0.8 肖0.6 田0.5 董0.4 袁0.5 潘0.4 蒋0.6 蔡0.4 "
    "余0.5 杜0.5 叶0.4 程0.4 苏0.4 魏0.4 吕0.3 丁0.3 任0.4 沈0.3 姚0.3 卢0.3 廖0.5"
)
RARE_SURNAMES = {"欧阳": 0.03, "司马": 0.01, "诸葛": 0.005, "上官": 0.005}

# Given names as parents chose them in each generation (by birth year), for boys and girls. A name
# is drawn whole from these lists or, one time in three, built from the characters of its list.
GIVEN_NAMES = {
    # born before 1960
    ("male", 1960): "建国 国强 德明 永福 志明 振华 国华 建华 文明 长青 明德 福生 树林 金贵 德胜 国庆 建设 "
    "光明 文华 永刚 德才 志刚 宝山 世清 开明 学文 正荣 绍华 仁义 庆元",
    ("female", 1960): "秀英 桂英 秀兰 玉兰 淑珍 桂兰 凤英 玉珍 秀珍 素芬 翠英 淑华 玉梅 桂芳 秀芳 淑英 "
    "凤兰 玉华 素珍 桂珍 玉英 秀云 春兰 琼芳 惠芬 德芳 素华 淑芬 桂香 金凤",
    # 1960-1979
    ("male", 1980): "伟 强 军 勇 刚 平 斌 涛 明 杰 建军 建平 志刚 海涛 卫东 红军 晓东 建明 小平 国平 "
    "永红 立新 文斌 春雷 小兵 志勇 长江 利民 新华 东升",
    ("female", 1980): "丽 敏 静 燕 艳 红 霞 芳 娟 萍 丽华 春燕 晓红 海燕 晓梅 红梅 丽萍 小红 桂芳 玉芳 "
    "秀丽 雪梅 晓燕 建萍 丽娟 艳红 素琴 晓玲 红霞 淑芳",
    # 1980-1999
    ("male", 2000): "磊 鹏 浩 超 俊 杰 宇 辉 帅 波 鑫 亮 俊杰 志鹏 浩然 晓峰 家豪 明轩 天宇 博文 "
    "建伟 子豪 文杰 俊峰 宇航 晨阳 凯文 海洋 佳豪 振宇",
    ("female", 2000): "婷 雪 琳 丹 倩 颖 静 慧 晶 佳 欣 洁 婷婷 雨婷 佳怡 晓雪 梦瑶 思佳 丹丹 雪莹 "
    "晓琳 欣怡 玉婷 佳慧 诗雨 梦琪 雪婷 晶晶 欣悦 雅琪",
    # 2000 and later
    ("male", 9999): "子轩 浩然 宇轩 梓豪 一诺 皓轩 俊熙 睿 浩宇 子墨 宇航 博文 梓睿 铭泽 子豪 奕辰 "
    "沐阳 泽宇 锦程 俊宇 思远 天佑 明哲 嘉懿 煜祺 瑞霖 晨曦 书恒 承泽 宇泽",
    ("female", 9999): "梓涵 欣怡 子涵 诗涵 梓萱 雨桐 可馨 一诺 语嫣 思琪 若曦 欣妍 雨涵 紫萱 梦琪 "
    "佳怡 语桐 芷若 诗琪 雨欣 沐晨 静怡 梓琳 可欣 安琪 乐瑶 艺涵 思彤 欣然 心怡",
}

# Characters written in traditional form (old paper records, and residents from Hong Kong, Macao
# and Taiwan): each turns back into the same simplified character, so 張三 is found by 张三.
TRADITIONAL = dict(
    zip(
        "张刘陈杨黄赵吴孙马罗郑谢许韩冯邓蒋叶苏吕卢钟谭陆贾邹龙贺顾龚万严汤欧阳伟静丽强军杰涛刚华兰红鹏辉国凯云飞晓东远轩诺凤宝庆贵荣颖梦泽铭长树胜义礼洁琼",
        "張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蔣葉蘇呂盧鍾譚陸賈鄒龍賀顧龔萬嚴湯歐陽偉靜麗強軍傑濤剛華蘭紅鵬輝國凱雲飛曉東遠軒諾鳳寶慶貴榮穎夢澤銘長樹勝義禮潔瓊",
        strict=True,
    )
)

# GB/T 2260 codes of where residents' ID cards were issued: most in Chenghua itself, residents
# without local household registration from the rest of Chengdu, floating residents from further away.
ID_REGIONS_LOCAL = ["510108"]
ID_REGIONS_CHENGDU = ["510104", "510105", "510106", "510107", "510112", "510113", "510114", "510116", "510121"]
ID_REGIONS_AWAY = [
    "511302",
    "511321",
    "511602",
    "511902",
    "510722",
    "511381",
    "513401",
    "511102",
    "510304",
    "511502",
    "500101",
    "500230",
    "500112",
    "420106",
    "130102",
    "410105",
    "530102",
    "520102",
    "610113",
    "430104",
]

# Streets of a compound's address, beyond ROADS.
MORE_ROADS = ["和美路", "和欣路", "致强路", "桃源路", "向龙路", "东虹路", "崔家店路", "蜀龙路", "成华大道", "华泰路"]

# Places (场所) of a grid: (kind, name patterns, safety flags). {s} is a surname, {c} the compound,
# {r} a road. Flags: crowded, fire-safety key unit, small venue (九小), hazardous materials.
SHOPS = [
    ("{s}记面馆", (False, False, True, False)),
    ("{s}记冒菜", (False, False, True, False)),
    ("{c}便利店", (False, False, True, False)),
    ("{c}生鲜超市", (False, False, True, False)),
    ("老{s}家串串香", (False, False, True, False)),
    ("{s}氏火锅", (True, False, True, False)),
    ("{c}大药房", (False, False, True, False)),
    ("{s}师理发店", (False, False, True, False)),
    ("{r}五金店", (False, False, True, True)),
    ("{c}茶馆", (False, False, True, False)),
    ("{s}记水果店", (False, False, True, False)),
    ("{c}快递驿站", (False, False, True, False)),
    ("{c}干洗店", (False, False, True, True)),
    ("{s}记烧烤", (False, False, True, False)),
    ("{c}棋牌室", (False, False, True, False)),
    ("{s}家小厨", (False, False, True, False)),
    ("{c}宾馆", (True, False, True, False)),
    ("{c}美容美发", (False, False, True, False)),
    ("{r}粮油店", (False, False, True, False)),
    ("{c}眼镜店", (False, False, True, False)),
]
ENTERPRISES = [
    ("成都{c}物流有限公司", (False, False, False, False)),
    ("成都{c}印务有限公司", (False, True, False, True)),
    ("成都{c}汽车维修服务部", (False, False, True, True)),
    ("四川{c}建筑劳务有限公司", (False, False, False, False)),
    ("成都{c}科技有限公司", (False, False, False, False)),
    ("成都{c}食品加工厂", (False, True, True, False)),
    ("{r}加油站", (False, True, False, True)),
    ("成都{c}家政服务有限公司", (False, False, False, False)),
]
SCHOOLS = [
    ("{c}幼儿园", (True, True, True, False)),
    ("{c}小学", (True, True, False, False)),
    ("{c}托育中心", (True, True, True, False)),
]
CLINICS = [
    ("{c}社区卫生服务站", (True, False, True, False)),
    ("{s}氏中医诊所", (False, False, True, False)),
    ("{c}口腔诊所", (False, False, True, False)),
]
PUBLIC_PLACES = [
    ("{c}农贸市场", (True, True, False, False)),
    ("{c}健身广场", (True, False, False, False)),
    ("{c}网吧", (True, True, True, False)),
    ("{c}KTV", (True, True, True, False)),
    ("{c}老年活动中心", (True, False, False, False)),
]

# What a dedicated grid (专属网格) holds, by its kind: its own place, then tenants named after it.
DEDICATED_PLACES = {
    "hospital": ("hospital", (True, True, False, True), ["{n}门诊药房", "{n}便利店", "{n}餐厅"]),
    "mall": ("public_place", (True, True, False, False), ["{n}{s}记餐厅", "{n}影城", "{n}超市", "{n}{s}氏火锅"]),
    "office_tower": ("enterprise", (True, True, False, False), ["成都{s}氏科技有限公司", "四川{s}联律师事务所"]),
    "park": ("enterprise", (False, True, False, True), ["成都{s}氏精密制造有限公司", "成都{s}达新材料有限公司"]),
    "school": ("school", (True, True, False, False), ["{n}食堂", "{n}文具店"]),
    "enterprise": ("enterprise", (False, True, False, True), ["{n}员工食堂", "{n}配件仓库"]),
}

STATIONED_UNITS = ["派出所", "供电服务站", "邮政支局", "消防救援站", "市场监管所", "社区卫生服务中心"]
SOCIAL_ORGANISATIONS = ["志愿服务队", "夕阳红艺术团", "邻里互助会", "老年协会", "书画社", "调解委员会"]
PROPERTY_BRANDS = ["蓉城", "锦华", "嘉和", "天府", "安居", "华宇", "万和", "绿城"]
MEMBER_POSITIONS = {
    "party_branch": ["书记", "组织委员", "宣传委员"],
    "owners_committee": ["主任", "副主任", "委员", "委员", "委员"],
    "property_company": ["项目经理", "客服主管", "保安队长", "维修主管"],
    "social_organisation": ["队长", "副队长"],
    "stationed_unit": ["联络员"],
}
