"""The demo district (新建区, 南昌市, 江西省): departments, service items, staff, users.

Plain data for ``hcp seed-demo``. Names follow the way district governments name their
organs; codes are generated with valid check characters.
"""

from __future__ import annotations

from ..models import ItemKind, Role

REGION_CODE = "360112"
DEMO_PASSWORD = "Hcp@demo2026"

# (slug for usernames, full name, short name, is the service centre)
DEPARTMENTS = [
    ("zhongxin", "新建区政务服务中心管理办公室", "政务服务中心", True),
    ("shenpi", "新建区行政审批局", "行政审批局", False),
    ("shichang", "新建区市场监督管理局", "市场监管局", False),
    ("shuiwu", "国家税务总局南昌市新建区税务局", "税务局", False),
    ("yibao", "新建区医疗保障局", "医保局", False),
    ("renshe", "新建区人力资源和社会保障局", "人社局", False),
    ("budongchan", "新建区不动产登记中心", "不动产登记中心", False),
    ("gongan", "南昌市公安局新建分局", "公安分局", False),
    ("zhujian", "新建区住房和城乡建设局", "住建局", False),
    ("minzheng", "新建区民政局", "民政局", False),
    ("weijian", "新建区卫生健康委员会", "卫健委", False),
    ("jiaotong", "新建区交通运输局", "交通运输局", False),
    ("ziran", "新建区自然资源局", "自然资源局", False),
    ("gongjijin", "南昌住房公积金管理中心新建分中心", "公积金分中心", False),
    ("jiaoti", "新建区教育体育局", "教体局", False),
]

L, B, C, O, P = (ItemKind.LICENSING, ItemKind.BENEFIT, ItemKind.CONFIRMATION, ItemKind.OTHER,
                 ItemKind.PUBLIC_SERVICE)

# department slug -> [(item name, kind, promised working days)]
SERVICE_ITEMS: dict[str, list[tuple[str, ItemKind, int]]] = {
    "shenpi": [("企业设立登记", L, 3), ("个体工商户设立登记", L, 1), ("食品经营许可", L, 10),
               ("公共场所卫生许可", L, 10), ("药品零售企业许可", L, 15), ("建设工程规划许可证核发", L, 15)],
    "shichang": [("企业变更登记", L, 3), ("企业注销登记", L, 3), ("特种设备使用登记", O, 5),
                 ("计量器具强制检定", P, 10)],
    "shuiwu": [("发票领用", P, 1), ("增值税一般纳税人登记", C, 1), ("个人所得税综合所得汇算清缴", P, 1),
               ("涉税信息查询", P, 1), ("清税证明开具", P, 1)],
    "yibao": [("基本医疗保险参保登记", P, 1), ("异地就医备案", P, 1), ("门诊慢特病待遇认定", C, 15),
              ("医疗费用手工报销", B, 20), ("基本医疗保险关系转移接续", P, 15)],
    "renshe": [("社会保障卡申领", P, 5), ("失业保险金申领", B, 3), ("就业登记", P, 1),
               ("职工正常退休审批", C, 10), ("工伤认定", C, 60)],
    "budongchan": [("不动产首次登记", C, 5), ("不动产转移登记", C, 3), ("不动产抵押登记", C, 1),
                   ("不动产登记资料查询", P, 1)],
    "gongan": [("居民身份证申领", P, 20), ("户口迁移", C, 5), ("居住证申领", P, 7), ("出生登记", C, 1)],
    "zhujian": [("建筑工程施工许可证核发", L, 3), ("商品房预售许可", L, 10)],
    "minzheng": [("结婚登记", C, 1), ("最低生活保障审核确认", B, 30), ("临时救助", B, 10)],
    "weijian": [("医师执业注册", L, 20), ("护士执业注册", L, 20), ("出生医学证明签发", P, 1)],
    "jiaotong": [("道路货物运输经营许可", L, 10), ("巡游出租汽车驾驶员从业资格许可", L, 10)],
    "ziran": [("建设用地规划许可证核发", L, 10)],
    "gongjijin": [("住房公积金提取", P, 1), ("住房公积金个人住房贷款", P, 15), ("住房公积金单位缴存登记", P, 1)],
    "jiaoti": [("教师资格认定", C, 30)],
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
               "明", "超", "秀英", "霞", "平", "刚", "桂英", "晓东", "海燕", "建华", "志强", "文静", "雪梅"]

# Users who work across departments: (username, display name, roles, department slug or None)
CENTRAL_USERS = [
    ("admin", "系统管理员", [Role.ADMIN], None),
    ("designer", "流程设计员", [Role.DESIGNER], None),
    ("designer2", "流程设计员二", [Role.DESIGNER], None),  # deploying needs a second designer (four eyes)
    ("auditor", "审计员", [Role.AUDITOR], None),
    ("supervisor", "效能监督员", [Role.SUPERVISOR], None),
    ("verifier1", "审核员一", [Role.VERIFIER], "zhongxin"),
    ("verifier2", "审核员二", [Role.VERIFIER], "zhongxin"),
]
