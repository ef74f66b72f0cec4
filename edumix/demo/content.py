"""Hand-written text for the synthetic demo crawl (composed into pages by crawl.py).

Written for edumix; nothing here is copied from elsewhere. Prose uses a tiny markup
so one string can hold a whole article: blocks are separated by blank lines, and a
block is a paragraph unless it starts with "## " (heading), "- " (bullet list),
"1. " (numbered list), "$$" (display formula), "|" (table) or a ``` fence (code).
Paragraphs are kept one per line (long lines on purpose: this is text, not code).
Names, emails, phone numbers and addresses are deliberately fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Site:
    host: str
    name: str
    tagline: str
    nav: tuple[tuple[str, str], ...]
    popular: tuple[str, ...]
    lang: str = "en"
    footer_links: tuple[tuple[str, str], ...] = (
        ("About us", "/about"),
        ("Contact", "/contact"),
        ("Privacy Policy", "/privacy"),
        ("Cookie Settings", "/cookies"),
        ("Terms of Use", "/terms"),
    )
    cookie: str = (
        "We use cookies to personalise content and analyse our traffic. "
        "By continuing to browse this site you agree to our use of cookies."
    )
    copyright: str = ""
    ads: tuple[str, ...] = ()
    authors: tuple[str, ...] = ("Staff Writer",)
    server: str = "nginx/1.24.0"


@dataclass(frozen=True)
class Article:
    slug: str
    section: str
    sites: tuple[str, ...]
    titles: tuple[str, ...]
    text: str
    comments: bool = False


@dataclass(frozen=True)
class Labels:
    by: str
    published: str
    updated: str
    popular: str
    sponsored: str
    home: str
    search: str
    accept: str = "OK"
    extra_nav: tuple[str, ...] = field(default=("Newsletter", "Deals", "Podcast"))


LABELS = {
    "en": Labels("By", "Published", "Updated", "Popular right now", "Sponsored", "Home", "Search"),
    "de": Labels(
        "Von",
        "Veröffentlicht am",
        "Aktualisiert am",
        "Meistgelesen",
        "Anzeige",
        "Startseite",
        "Suchen",
        "Einverstanden",
        ("Newsletter", "Angebote"),
    ),
    "fr": Labels(
        "Par",
        "Publié le",
        "Mis à jour le",
        "Les plus lus",
        "Publicité",
        "Accueil",
        "Rechercher",
        "J'accepte",
        ("Newsletter", "Bons plans"),
    ),
    "es": Labels(
        "Por",
        "Publicado el",
        "Actualizado el",
        "Lo más leído",
        "Publicidad",
        "Inicio",
        "Buscar",
        "Aceptar",
        ("Boletín", "Ofertas"),
    ),
    "it": Labels(
        "Di",
        "Pubblicato il",
        "Aggiornato il",
        "I più letti",
        "Pubblicità",
        "Home",
        "Cerca",
        "Accetto",
        ("Newsletter", "Offerte"),
    ),
    "pt": Labels(
        "Por",
        "Publicado em",
        "Atualizado em",
        "Mais lidos",
        "Publicidade",
        "Início",
        "Pesquisar",
        "Aceitar",
        ("Newsletter", "Promoções"),
    ),
    "pl": Labels(
        "Autor:",
        "Opublikowano",
        "Zaktualizowano",
        "Najczęściej czytane",
        "Reklama",
        "Strona główna",
        "Szukaj",
        "Akceptuję",
        ("Newsletter", "Promocje"),
    ),
    "nl": Labels(
        "Door",
        "Gepubliceerd op",
        "Bijgewerkt op",
        "Meest gelezen",
        "Advertentie",
        "Home",
        "Zoeken",
        "Akkoord",
        ("Nieuwsbrief", "Aanbiedingen"),
    ),
    "ru": Labels(
        "Автор:",
        "Опубликовано",
        "Обновлено",
        "Популярное",
        "Реклама",
        "Главная",
        "Поиск",
        "Согласен",
        ("Рассылка", "Акции"),
    ),
    "zh": Labels("作者：", "发布于", "更新于", "热门文章", "广告", "首页", "搜索", "同意", ("订阅", "优惠")),
    "ja": Labels(
        "著者：", "公開日", "更新日", "人気の記事", "広告", "ホーム", "検索", "同意する", ("メルマガ", "特集")
    ),
}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

EN_ADS = (
    "Learn Spanish in ten minutes a day. Try the LinguaLeap app free for 7 days.",
    "Summer sale: up to 40% off hiking gear at TrailPeak Outfitters.",
    "Refinance your home loan today. Compare rates from 20 lenders in minutes.",
    "New from Sonique: noise-cancelling earbuds with 30-hour battery. Shop now.",
    "Join 50,000 readers and get our best stories in your inbox every Friday.",
    "Cloud hosting from $3/month. Deploy your first app in seconds with NimbusHost.",
    "Free e-book: 25 Study Tips That Actually Work. Download it today.",
    "Fresh meal kits delivered to your door. First box half price with code FRESH50.",
    "Upgrade your home office with ergonomic chairs from SitWell. Free delivery.",
    "City breaks from $99: book now and save 20% on selected hotels.",
    "Back to school: laptops for students with up to $150 off.",
    "Sleep better tonight with the CloudRest memory foam pillow.",
)

_EN_NAV_EDU = (
    ("Home", "/"),
    ("Biology", "/biology/"),
    ("Earth Science", "/earth-science/"),
    ("History", "/history/"),
    ("Economics", "/economics/"),
    ("About", "/about"),
)

SITES: dict[str, Site] = {
    "learn": Site(
        "learn.example.org",
        "Open Learning Library",
        "Free explainers for curious students",
        _EN_NAV_EDU,
        (
            "How cells get their energy",
            "Ten landmarks of the scientific revolution",
            "Reading a climate graph step by step",
            "What causes the seasons?",
        ),
        copyright="© 2024 Open Learning Library. Content licensed for classroom use.",
        ads=EN_ADS,
        authors=("Dr. Helen Marsh", "Tomas Reyes", "The Editorial Team"),
    ),
    "classroom": Site(
        "classroom.example.com",
        "Classroom Companion",
        "Clear lessons for middle and high school",
        _EN_NAV_EDU,
        (
            "The causes of the First World War",
            "Opportunity cost in everyday life",
            "Map skills: latitude and longitude",
            "Why the Roman Empire split in two",
        ),
        cookie="This website uses cookies to remember your reading progress. Manage your "
        "preferences at any time in Cookie Settings.",
        ads=EN_ADS,
        authors=("Ms. Grace Holloway", "Daniel Osei", "Classroom Companion Staff"),
        server="Apache/2.4.58 (Unix)",
    ),
    "mathcorner": Site(
        "mathcorner.example.net",
        "Math Corner",
        "Worked examples and friendly proofs",
        (
            ("Home", "/"),
            ("Algebra", "/algebra/"),
            ("Geometry", "/geometry/"),
            ("Calculus", "/calculus/"),
            ("Number Theory", "/number-theory/"),
            ("Probability", "/probability/"),
        ),
        ("Why dividing by zero is undefined", "Five ways to prove the Pythagorean theorem", "Logarithms without tears"),
        copyright="© 2024 Math Corner. Problems may be reused for teaching with attribution.",
        ads=EN_ADS,
        authors=("Prof. Ada Whitcombe", "Ravi Menon"),
    ),
    "proofs": Site(
        "proofs.example.org",
        "Proof of the Day",
        "One idea, one proof, every day",
        (
            ("Home", "/"),
            ("Archive", "/archive/"),
            ("Topics", "/topics/"),
            ("Exercises", "/exercises/"),
            ("About", "/about"),
        ),
        ("The pigeonhole principle", "Induction, explained with dominoes", "Counting with combinations"),
        ads=EN_ADS,
        authors=("L. Castellano",),
        server="Caddy",
    ),
    "devnotes": Site(
        "devnotes.example.com",
        "DevNotes",
        "Practical programming tutorials",
        (
            ("Home", "/"),
            ("Python", "/python/"),
            ("JavaScript", "/javascript/"),
            ("SQL", "/sql/"),
            ("Rust", "/rust/"),
            ("Shell", "/shell/"),
        ),
        ("Understanding Python decorators", "Git branching for beginners", "Writing your first unit test"),
        copyright="© 2024 DevNotes. Code samples are released under the MIT licence.",
        ads=EN_ADS,
        authors=("Kim Nakamura", "Olu Adeyemi", "Sasha Petrov"),
    ),
    "codegarden": Site(
        "code.example.org",
        "Code Garden",
        "Grow your programming skills one snippet at a time",
        (
            ("Home", "/"),
            ("Tutorials", "/tutorials/"),
            ("Snippets", "/snippets/"),
            ("Books", "/books/"),
            ("Newsletter", "/newsletter"),
        ),
        ("Regular expressions cheat sheet", "How HTTP caching works", "Async Python in 10 minutes"),
        ads=EN_ADS,
        authors=("Mira Solberg",),
        server="Apache/2.4.58 (Unix)",
    ),
    "news": Site(
        "news.example.com",
        "Millbrook Gazette",
        "Local news since 1921",
        (
            ("Home", "/"),
            ("Local", "/local/"),
            ("Weather", "/weather/"),
            ("Sports", "/sports/"),
            ("Opinion", "/opinion/"),
            ("Subscribe", "/subscribe"),
        ),
        (
            "School board approves new calendar",
            "Farmers market returns to Main Street",
            "Letters: readers on the parking debate",
        ),
        copyright="© 2024 Millbrook Gazette Media Group. All rights reserved.",
        cookie="We and our partners use cookies to deliver personalised news and advertising. "
        "You can change your choices at any time.",
        ads=EN_ADS,
        authors=("Rachel Dunmore", "Victor Hale", "Gazette Staff"),
    ),
    "blog": Site(
        "blog.example.net",
        "Weekend Notebook",
        "Small adventures, written down",
        (("Home", "/"), ("Travel", "/travel/"), ("Garden", "/garden/"), ("Books", "/books/"), ("About me", "/about")),
        ("My packing list for three days", "A year of reading: my top ten", "Five easy herbs for beginners"),
        copyright="© 2024 Weekend Notebook. Please do not copy photos without permission.",
        ads=EN_ADS,
        authors=("Nora",),
        server="LiteSpeed",
    ),
    "kitchen": Site(
        "kitchen.example.org",
        "Simple Kitchen",
        "Honest recipes for busy people",
        (
            ("Home", "/"),
            ("Recipes", "/recipes/"),
            ("Baking", "/baking/"),
            ("Soups", "/soups/"),
            ("Meal Plans", "/meal-plans/"),
        ),
        ("15-minute tomato pasta", "How to store fresh herbs", "Our favourite pancake recipe"),
        ads=EN_ADS,
        authors=("Chef Lina Park", "Ben Carter"),
    ),
    "reviews": Site(
        "reviews.example.com",
        "Gadget Verdict",
        "Independent reviews, no nonsense",
        (("Home", "/"), ("Audio", "/audio/"), ("Laptops", "/laptops/"), ("Phones", "/phones/"), ("Deals", "/deals/")),
        ("Best budget phones this year", "How we test headphones", "Laptop buying guide"),
        cookie="Gadget Verdict uses cookies and similar technologies. Some links on this page "
        "are affiliate links; we may earn a commission at no cost to you.",
        ads=EN_ADS,
        authors=("Jamie Ortega", "Priya Chandran"),
    ),
    "portal": Site(
        "portal.example.net",
        "TopPortal",
        "Everything you need, all in one place",
        (("Home", "/"), ("Hot", "/hot"), ("Links", "/links"), ("Login", "/login")),
        ("You won't believe #7", "Free stuff", "Top lists"),
        ads=EN_ADS,
        server="Apache",
    ),
    "deals": Site(
        "deals.example.com",
        "DealZone",
        "Daily deals and downloads",
        (("Home", "/"), ("Deals", "/deals"), ("Downloads", "/downloads"), ("Members", "/members")),
        ("Today's hottest deal", "Members area", "Download center"),
        ads=EN_ADS,
        server="Apache",
    ),
    "spam1": Site(
        "best-price-online.example.net",
        "Best Price Online 24",
        "best price cheap buy now",
        (("Home", "/"), ("Cheap", "/cheap"), ("Best Price", "/best-price"), ("Buy", "/buy")),
        ("cheap best price", "buy now cheap", "discount online"),
        footer_links=(("Privacy", "/privacy"), ("Terms", "/terms"), ("Contact", "/contact")),
        copyright="© 2024 best-price-online. All rights reserved.",
        server="Apache",
    ),
    "spam2": Site(
        "casino-bonus-top.example.org",
        "Top Casino Bonus",
        "free spins bonus codes casino",
        (("Home", "/"), ("Casino", "/casino"), ("Slots", "/slots"), ("Bonus", "/bonus")),
        ("free spins today", "bonus codes 2024", "best casino bonus"),
        footer_links=(("Privacy", "/privacy"), ("Terms", "/terms")),
        copyright="© 2024 casino-bonus-top. All rights reserved.",
        server="Apache",
    ),
    "spam3": Site(
        "cheap-deals-4u.example.com",
        "Cheap Deals 4U",
        "cheap cheap cheap",
        (("Home", "/"), ("Pharmacy", "/pharmacy"), ("Loans", "/loans"), ("Watches", "/watches")),
        ("cheap pills online", "fast cash loans", "replica watches cheap"),
        footer_links=(("Privacy", "/privacy"), ("Contact", "/contact")),
        copyright="© 2024 cheap-deals-4u. All rights reserved.",
        server="Apache",
    ),
    "forum": Site(
        "community.example.org",
        "Home Network Help Forum",
        "Friendly help with routers and Wi-Fi",
        (
            ("Forums", "/"),
            ("Routers", "/f/routers"),
            ("Wi-Fi", "/f/wifi"),
            ("Marketplace", "/f/marketplace"),
            ("Rules", "/rules"),
        ),
        ("Read this before posting", "Mesh vs. extenders: the big thread", "Firmware update megathread"),
        copyright="© 2024 Home Network Help Forum. Posts are the opinions of their authors.",
        ads=EN_ADS,
        server="nginx/1.22.1",
    ),
    "plumbing": Site(
        "www.harborlaneplumbing.example.com",
        "Harbor Lane Plumbing",
        "Family-run plumbing and heating since 1987",
        (
            ("Home", "/"),
            ("Services", "/services"),
            ("Emergency", "/emergency"),
            ("Reviews", "/reviews"),
            ("Contact", "/contact"),
        ),
        ("Boiler servicing checklist", "How to find your stopcock", "Winter pipe tips"),
        copyright="© 2024 Harbor Lane Plumbing Ltd. Registered in Exampleshire.",
        ads=(),
        server="Microsoft-IIS/10.0",
    ),
    "school": Site(
        "staff.westfield-school.example.org",
        "Westfield Academy Staff Portal",
        "Information for staff, parents and governors",
        (
            ("Home", "/"),
            ("Directory", "/directory"),
            ("Calendar", "/calendar"),
            ("Policies", "/policies"),
            ("Parents", "/parents"),
        ),
        ("Term dates", "Safeguarding policy", "Staff handbook"),
        copyright="© 2024 Westfield Academy Trust.",
        ads=(),
        server="Microsoft-IIS/10.0",
    ),
    "classifieds": Site(
        "classifieds.example.net",
        "Town Classifieds",
        "Buy, sell and swap locally",
        (("Home", "/"), ("For sale", "/for-sale"), ("Wanted", "/wanted"), ("Jobs", "/jobs"), ("Post an ad", "/post")),
        ("Free to a good home", "Garage sales this weekend", "Bikes for sale"),
        ads=EN_ADS,
        server="nginx/1.18.0",
    ),
    "catalogue": Site(
        "data.example.net",
        "Open Parts Catalogue",
        "Every part, every warehouse, one table",
        (("Home", "/"), ("Inventory", "/inventory"), ("Suppliers", "/suppliers"), ("API", "/api")),
        ("Fastener size guide", "Supplier list", "Bulk ordering"),
        ads=(),
        server="gunicorn",
    ),
    "de": Site(
        "de.wissen.example.net",
        "Wissen Kompakt",
        "Natur und Gesellschaft verständlich erklärt",
        (
            ("Startseite", "/"),
            ("Natur", "/natur/"),
            ("Gesellschaft", "/gesellschaft/"),
            ("Ratgeber", "/ratgeber/"),
            ("Kontakt", "/kontakt"),
        ),
        ("Warum der Himmel blau ist", "So funktioniert Mülltrennung", "Die Geschichte des Brotes"),
        lang="de",
        footer_links=(
            ("Impressum", "/impressum"),
            ("Datenschutz", "/datenschutz"),
            ("Cookie-Einstellungen", "/cookies"),
        ),
        cookie="Diese Website verwendet Cookies, um Ihnen das beste Nutzererlebnis zu bieten.",
        copyright="© 2024 Wissen Kompakt. Alle Rechte vorbehalten.",
        ads=("Jetzt den Newsletter abonnieren und nichts mehr verpassen.", "Gartenmöbel im Sale: bis zu 30 % Rabatt."),
        authors=("Katrin Vogel", "Redaktion"),
    ),
    "de_travel": Site(
        "de.reisen.example.net",
        "Reisen & Entdecken",
        "Städtereisen in Deutschland",
        (
            ("Startseite", "/"),
            ("Städte", "/staedte/"),
            ("Natur", "/natur/"),
            ("Tipps", "/tipps/"),
            ("Kontakt", "/kontakt"),
        ),
        ("Hamburg an einem Tag", "Die schönsten Burgen am Rhein", "Mit dem Rad an der Ostsee"),
        lang="de",
        footer_links=(("Impressum", "/impressum"), ("Datenschutz", "/datenschutz")),
        cookie="Wir verwenden Cookies. Mit der Nutzung der Seite stimmen Sie dem zu.",
        copyright="© 2024 Reisen & Entdecken.",
        ads=("Günstige Bahntickets: jetzt früh buchen.",),
        authors=("Jörg Müller",),
        server="Apache/2.4.58 (Unix)",
    ),
    "fr": Site(
        "fr.sante.example.net",
        "Le Carnet Santé",
        "Des conseils simples pour bien vivre",
        (
            ("Accueil", "/"),
            ("Santé", "/sante/"),
            ("Nutrition", "/nutrition/"),
            ("Sport", "/sport/"),
            ("Contact", "/contact"),
        ),
        ("Dix minutes d'étirements le matin", "Bien choisir ses chaussures de course", "Le sommeil des adolescents"),
        lang="fr",
        footer_links=(
            ("Mentions légales", "/mentions-legales"),
            ("Politique de confidentialité", "/confidentialite"),
            ("Gérer les cookies", "/cookies"),
        ),
        cookie="Ce site utilise des cookies pour améliorer votre expérience de navigation.",
        copyright="© 2024 Le Carnet Santé. Tous droits réservés.",
        ads=(
            "Abonnez-vous à notre lettre d'information hebdomadaire.",
            "Tapis de yoga à prix doux, livraison gratuite.",
        ),
        authors=("Claire Dubois", "La rédaction"),
    ),
    "es": Site(
        "es.cocina.example.com",
        "Cocina Fácil",
        "Recetas caseras paso a paso",
        (
            ("Inicio", "/"),
            ("Recetas", "/recetas/"),
            ("Postres", "/postres/"),
            ("Consejos", "/consejos/"),
            ("Contacto", "/contacto"),
        ),
        ("Gazpacho andaluz tradicional", "Cómo hacer un buen sofrito", "Croquetas de la abuela"),
        lang="es",
        footer_links=(
            ("Aviso legal", "/aviso-legal"),
            ("Política de privacidad", "/privacidad"),
            ("Configurar cookies", "/cookies"),
        ),
        cookie="Utilizamos cookies propias y de terceros para mejorar nuestros servicios.",
        copyright="© 2024 Cocina Fácil. Todos los derechos reservados.",
        ads=("Suscríbete y recibe una receta nueva cada semana.",),
        authors=("Lucía Romero",),
    ),
    "it": Site(
        "it.viaggi.example.org",
        "Viaggi d'Italia",
        "Città, arte e itinerari",
        (
            ("Home", "/"),
            ("Città", "/citta/"),
            ("Arte", "/arte/"),
            ("Itinerari", "/itinerari/"),
            ("Contatti", "/contatti"),
        ),
        ("Tre giorni a Roma", "I borghi più belli della Toscana", "Venezia fuori stagione"),
        lang="it",
        footer_links=(("Note legali", "/note-legali"), ("Privacy", "/privacy"), ("Preferenze cookie", "/cookie")),
        cookie="Questo sito utilizza cookie tecnici e di profilazione.",
        copyright="© 2024 Viaggi d'Italia. Tutti i diritti riservati.",
        ads=("Prenota ora il tuo hotel a Firenze con il 15% di sconto.",),
        authors=("Marco Bianchi",),
    ),
    "pt": Site(
        "pt.casaverde.example.com",
        "Casa Verde",
        "Ideias para uma casa mais sustentável",
        (
            ("Início", "/"),
            ("Casa", "/casa/"),
            ("Energia", "/energia/"),
            ("Jardim", "/jardim/"),
            ("Contato", "/contato"),
        ),
        ("Como fazer compostagem em casa", "Plantas que purificam o ar", "Reutilizar água da chuva"),
        lang="pt",
        footer_links=(
            ("Termos de uso", "/termos"),
            ("Privacidade", "/privacidade"),
            ("Preferências de cookies", "/cookies"),
        ),
        cookie="Usamos cookies para melhorar a sua experiência no site.",
        copyright="© 2024 Casa Verde. Todos os direitos reservados.",
        ads=("Painéis solares com parcelamento em até 12 vezes.",),
        authors=("Ana Ribeiro",),
    ),
    "pl": Site(
        "pl.jezykowo.example.net",
        "Językowo",
        "Praktyczne porady dla uczących się języków",
        (
            ("Strona główna", "/"),
            ("Kursy", "/kursy/"),
            ("Porady", "/porady/"),
            ("Blog", "/blog/"),
            ("Kontakt", "/kontakt"),
        ),
        ("Jak zapamiętać nowe słówka", "Najlepsze podcasty do nauki", "Egzamin krok po kroku"),
        lang="pl",
        footer_links=(
            ("Regulamin", "/regulamin"),
            ("Polityka prywatności", "/prywatnosc"),
            ("Ustawienia cookies", "/cookies"),
        ),
        cookie="Ta strona korzysta z plików cookie, aby świadczyć usługi na najwyższym poziomie.",
        copyright="© 2024 Językowo. Wszelkie prawa zastrzeżone.",
        ads=("Kurs angielskiego online – pierwsza lekcja gratis.",),
        authors=("Magdalena Nowak",),
    ),
    "nl": Site(
        "nl.stadfiets.example.org",
        "Stad & Fiets",
        "Alles over fietsen in de stad",
        (
            ("Home", "/"),
            ("Nieuws", "/nieuws/"),
            ("Fietsroutes", "/routes/"),
            ("Tips", "/tips/"),
            ("Contact", "/contact"),
        ),
        ("De mooiste routes langs de kust", "Je fiets winterklaar maken", "E-bike of gewone fiets?"),
        lang="nl",
        footer_links=(("Privacyverklaring", "/privacy"), ("Cookiebeleid", "/cookies"), ("Disclaimer", "/disclaimer")),
        cookie="Deze website gebruikt cookies om de gebruikerservaring te verbeteren.",
        copyright="© 2024 Stad & Fiets. Alle rechten voorbehouden.",
        ads=("Nieuwe fietsverlichting nu met 25% korting.",),
        authors=("Pieter de Vries",),
    ),
    "ru": Site(
        "ru.priroda.example.net",
        "Природа России",
        "Заповедные места и удивительные факты",
        (
            ("Главная", "/"),
            ("Природа", "/priroda/"),
            ("Путешествия", "/puteshestviya/"),
            ("Статьи", "/stati/"),
            ("Контакты", "/kontakty"),
        ),
        ("Самые высокие горы Кавказа", "Как зимуют медведи", "Белые ночи в Петербурге"),
        lang="ru",
        footer_links=(("Политика конфиденциальности", "/privacy"), ("Настройки cookie", "/cookies")),
        cookie="Мы используем файлы cookie, чтобы сайт работал лучше.",
        copyright="© 2024 Природа России. Все права защищены.",
        ads=("Туры на Алтай со скидкой до 20 %.",),
        authors=("Ирина Соколова",),
    ),
    "zh": Site(
        "zh.wenhua.example.com",
        "文化百科",
        "了解中国传统文化",
        (("首页", "/"), ("历史", "/lishi/"), ("文化", "/wenhua/"), ("生活", "/shenghuo/"), ("联系我们", "/lianxi")),
        ("春节的习俗", "汉字的演变", "中国四大发明"),
        lang="zh",
        footer_links=(("隐私政策", "/privacy"), ("Cookie 设置", "/cookies")),
        cookie="本网站使用 Cookie 以改善您的浏览体验。",
        copyright="© 2024 文化百科 版权所有",
        ads=("精选茶具，新年特惠。",),
        authors=("王丽",),
    ),
    "ja": Site(
        "ja.guide.example.org",
        "日本ガイド",
        "日本の自然と文化を紹介します",
        (("ホーム", "/"), ("観光", "/kanko/"), ("文化", "/bunka/"), ("自然", "/shizen/"), ("お問い合わせ", "/contact")),
        ("京都の紅葉スポット", "温泉の入り方", "日本の四季"),
        lang="ja",
        footer_links=(("プライバシーポリシー", "/privacy"), ("Cookie設定", "/cookies")),
        cookie="当サイトではサービス向上のためにCookieを使用しています。",
        copyright="© 2024 日本ガイド",
        ads=("春の旅行キャンペーン実施中。",),
        authors=("佐藤健",),
    ),
}


# --- edu: textbook-like explainers, five paragraphs each ---------------------------

EDU_ARTICLES = (
    Article(
        "cells-basic-unit-of-life",
        "biology",
        ("learn", "classroom"),
        ("What Is a Cell? The Basic Unit of Life", "Inside the Cell: A Beginner's Guide"),
        """
        All living things are made of cells, the smallest units that can carry out the processes of life. Some organisms, such as bacteria, consist of a single cell that must find food, grow and reproduce on its own. Others, like trees and people, are built from trillions of cells that divide the work between them. The idea that cells are the building blocks of life is known as cell theory, and it was developed in the nineteenth century after improved microscopes allowed scientists to look closely at plant and animal tissue.

        Every cell is surrounded by a cell membrane, a thin, flexible layer made mostly of fats and proteins. The membrane acts like a selective gatekeeper: it lets water, oxygen and nutrients enter while keeping many harmful substances out, and it allows waste products to leave. Inside the membrane is the cytoplasm, a jelly-like fluid in which the cell's chemical reactions take place. Plant cells, fungi and many bacteria also have a rigid cell wall outside the membrane, which gives them extra support and protection.

        Cells fall into two broad groups. Prokaryotic cells, found in bacteria and archaea, are small and simple; their genetic material floats freely in the cytoplasm. Eukaryotic cells, which make up animals, plants, fungi and protists, are larger and keep their DNA inside a membrane-bound nucleus. They also contain organelles, specialised compartments that each perform a particular job, much as the departments of a factory each handle one stage of production.

        Several organelles deserve special attention. Mitochondria break down sugar to release energy in a form the cell can use, which is why they are often called the powerhouses of the cell. Ribosomes read genetic instructions and assemble proteins. The endoplasmic reticulum and the Golgi apparatus work together to fold, package and ship those proteins to where they are needed. In plant cells, chloroplasts capture light energy for photosynthesis, and a large central vacuole stores water and helps keep the cell firm.

        Understanding cells helps explain much of modern medicine. Many diseases begin when cells stop working normally: in cancer, for example, cells divide without control, while some infections occur when viruses hijack a cell's machinery to make copies of themselves. Antibiotics work because bacterial cells differ from human cells in important ways, so a drug can target a structure such as the bacterial cell wall without harming the patient. Studying the cell is therefore the first step toward understanding health and illness.
        """,
    ),
    Article(
        "photosynthesis",
        "biology",
        ("learn",),
        ("Photosynthesis Explained: How Plants Make Food", "How Do Plants Turn Sunlight into Sugar?"),
        """
        Photosynthesis is the process by which green plants, algae and some bacteria use the energy of sunlight to make their own food. In simple terms, a plant takes in carbon dioxide from the air and water from the soil and, with the help of light, turns them into glucose, a type of sugar. Oxygen is released as a by-product. The overall reaction is often summarised as six molecules of carbon dioxide plus six molecules of water producing one molecule of glucose and six molecules of oxygen.

        The process takes place mainly in the leaves, inside structures called chloroplasts. Chloroplasts contain a green pigment called chlorophyll, which absorbs red and blue light very well but reflects green light; this is why most leaves look green to our eyes. Tiny pores on the underside of the leaf, called stomata, open to let carbon dioxide in and allow oxygen and water vapour to escape. Veins carry water up from the roots and transport the sugars the leaf produces to the rest of the plant.

        Scientists divide photosynthesis into two linked stages. In the light-dependent reactions, chlorophyll captures light energy and uses it to split water molecules, releasing oxygen and producing energy-carrying molecules called ATP and NADPH. In the second stage, known as the Calvin cycle, the plant uses that stored energy to fix carbon dioxide from the air into sugar. The Calvin cycle does not need light directly, but it depends on the products of the first stage, so in practice both stages run during the day.

        Several factors limit how fast photosynthesis can happen. If light is dim, the plant cannot capture enough energy; if carbon dioxide is scarce, the Calvin cycle slows down; and if the temperature is too low or too high, the enzymes that drive the reactions work poorly. Farmers who grow tomatoes or lettuce in greenhouses sometimes raise the carbon dioxide level and add artificial lighting so that their crops grow faster, an everyday application of these ideas.

        Photosynthesis matters far beyond the garden. Almost every food chain on Earth begins with organisms that photosynthesise, so the energy in a sandwich can ultimately be traced back to sunlight. The oxygen in the air we breathe was produced over billions of years by photosynthetic organisms, and forests and oceans continue to absorb large amounts of carbon dioxide today. This is why scientists studying climate change pay close attention to the health of forests and ocean plankton.
        """,
    ),
    Article(
        "dna-and-heredity",
        "biology",
        ("learn", "classroom"),
        ("DNA and Heredity: How Traits Are Passed On", "Genes, Chromosomes and DNA: A Clear Introduction"),
        """
        Children often resemble their parents: they may share the same eye colour, the shape of a nose or the tendency to have freckles. The passing of traits from one generation to the next is called heredity, and the instructions responsible for it are stored in a molecule called deoxyribonucleic acid, or DNA. Almost every cell in your body contains a complete copy of your DNA, tightly coiled and packed into structures called chromosomes. Humans normally have 46 chromosomes, arranged in 23 pairs.

        A DNA molecule looks like a twisted ladder, a shape known as the double helix. The sides of the ladder are made of sugar and phosphate, while each rung is formed by a pair of chemical bases. There are four bases, usually written as A, T, G and C, and they always pair in the same way: A with T and G with C. The order of these bases along the molecule spells out instructions, in much the same way that the order of letters in a sentence carries meaning.

        A gene is a section of DNA that contains the instructions for making a particular protein. Proteins do most of the work in the body: they form muscles and hair, carry oxygen in the blood and speed up chemical reactions as enzymes. Because you inherit one set of chromosomes from each parent, you have two copies of most genes. The different versions of a gene are called alleles, and the combination of alleles you carry influences traits such as blood type.

        In the 1860s the monk Gregor Mendel studied pea plants and noticed that traits were inherited in predictable ratios. When he crossed plants with purple flowers and plants with white flowers, the first generation had only purple flowers, but white flowers reappeared in about a quarter of the next generation. Mendel concluded that some alleles are dominant and hide the effect of recessive alleles. His work was largely ignored during his lifetime but became the foundation of modern genetics.

        Occasionally, mistakes occur when DNA is copied, or the molecule is damaged by radiation or chemicals. These changes are called mutations. Most mutations have no noticeable effect, some are harmful and a few turn out to be useful. Over many generations, mutations provide the variation on which evolution acts. Today, scientists can read the sequence of an entire genome in a matter of hours, which helps doctors diagnose inherited conditions and allows researchers to trace how populations have moved around the world.
        """,
    ),
    Article(
        "natural-selection",
        "biology",
        ("learn", "classroom"),
        ("Natural Selection: How Species Change Over Time", "Understanding Evolution and Natural Selection"),
        """
        Evolution is the gradual change in the inherited characteristics of populations over many generations. The idea that living things change was discussed long before the nineteenth century, but it was Charles Darwin and Alfred Russel Wallace who proposed a convincing mechanism to explain it: natural selection. Darwin described the theory in his 1859 book On the Origin of Species, drawing on years of observation, including his famous voyage aboard HMS Beagle.

        Natural selection rests on a few simple observations. First, individuals in a population vary; no two rabbits are exactly alike. Second, much of this variation is inherited. Third, more offspring are born than can possibly survive, because food, shelter and mates are limited. It follows that individuals whose traits suit their environment slightly better are more likely to survive and reproduce, and they pass those helpful traits on to their young. Over time, the helpful traits become more common.

        A classic example comes from the peppered moth in England. Before the Industrial Revolution most of these moths were pale, which camouflaged them against light-coloured tree bark. As soot from factories darkened the trees, dark moths became harder for birds to spot, and their numbers rose sharply in industrial areas. When air pollution laws later cleaned up the environment, pale moths became common again. The change happened within a few decades, showing that selection can act quickly when the environment shifts.

        Evidence for evolution comes from many independent sources. Fossils show sequences of organisms changing through layers of rock laid down over millions of years. Similar bone structures in the arm of a human, the wing of a bat and the flipper of a whale suggest a common ancestor. Comparing DNA reveals that closely related species share more of their genetic code. Scientists can even observe evolution directly in organisms with short life cycles, such as bacteria, which can become resistant to antibiotics.

        It is important to understand what evolution does not claim. Individuals do not evolve during their lifetimes; populations do, over generations. Natural selection does not plan ahead or aim at perfection; it simply favours whatever works best in the current environment. And evolution does not mean that humans descended from modern chimpanzees. Rather, humans and chimpanzees share a common ancestor that lived several million years ago. Clearing up these misunderstandings makes the theory much easier to grasp.
        """,
    ),
    Article(
        "printing-press",
        "history",
        ("classroom", "learn"),
        ("The Printing Press and the Spread of Ideas", "How Gutenberg's Press Changed Europe"),
        """
        Before the middle of the fifteenth century, almost every book in Europe was copied by hand. Monks and professional scribes could spend months producing a single volume, so books were rare and expensive, and only wealthy institutions such as monasteries, universities and royal courts owned large collections. Around 1450, a goldsmith from Mainz named Johannes Gutenberg developed a printing system that would transform the way knowledge was shared.

        Gutenberg's key innovation was movable metal type. Individual letters were cast in a durable alloy of lead, tin and antimony, arranged into lines of text, inked and pressed onto paper using a press adapted from those used to make wine. Once a page was printed, the letters could be taken apart and reused for the next page. Gutenberg also developed an oil-based ink that stuck well to metal. His most famous work, a Latin Bible completed around 1455, is still admired for the quality of its printing.

        The new technology spread with remarkable speed. By 1500, printing presses were operating in more than two hundred cities across Europe, and historians estimate that millions of books had already been produced. Prices fell sharply, and books were increasingly printed in everyday languages such as German, French and English rather than only in Latin. This made reading more useful to ordinary people and encouraged the growth of literacy.

        Printing had profound effects on religion, science and politics. Martin Luther's criticisms of the Church in 1517 circulated across Germany within weeks because printers reproduced them quickly and cheaply. Scientists could publish detailed diagrams and tables, and readers in different countries could check and build on one another's results. Governments, too, began using print to issue laws and announcements, while their opponents used pamphlets to spread criticism.

        Some historians compare the printing revolution to the rise of the internet. In both cases, a new technology dramatically lowered the cost of copying information and allowed more people to take part in public debate. Both also raised new concerns: early modern authorities worried about heretical books and false news, much as people today worry about misinformation online. Studying the printing press helps us think more clearly about how information technology shapes society.
        """,
    ),
    Article(
        "industrial-revolution",
        "history",
        ("classroom",),
        ("The Industrial Revolution: Causes and Consequences", "Why Did the Industrial Revolution Begin in Britain?"),
        """
        The Industrial Revolution was a period of rapid economic and technological change that began in Britain in the second half of the eighteenth century and later spread to Europe, North America and beyond. During this time, work that had been done by hand in homes and small workshops increasingly moved into factories powered by water wheels and, later, steam engines. The changes affected almost every part of daily life, from how people earned a living to where they lived.

        Historians point to several reasons why Britain industrialised first. The country had large deposits of coal and iron ore, often located close together. A growing population provided both workers and customers, while overseas trade supplied raw materials such as cotton and brought in capital that could be invested. Britain also had a relatively stable government, a banking system that could lend money to entrepreneurs and a culture that rewarded practical invention.

        The textile industry led the way. Inventions such as the spinning jenny, the water frame and the power loom allowed a single worker to produce far more thread and cloth than before. In 1769 James Watt patented an improved steam engine that used fuel much more efficiently than earlier designs. Steam power freed factories from the need to be built beside fast-flowing rivers, and in the nineteenth century it drove locomotives and ships, shrinking the time needed to move goods and people.

        Industrialisation brought great hardship as well as growth. Factory workers, including many children, often worked twelve or more hours a day in noisy and dangerous conditions. Cities such as Manchester grew so quickly that housing, clean water and sewers could not keep up, and diseases like cholera spread easily. Over the course of the nineteenth century, reformers, trade unions and new laws gradually limited working hours, restricted child labour and improved public health.

        In the long run, the Industrial Revolution raised living standards to levels that earlier generations could hardly have imagined. Goods that had once been luxuries, such as cotton clothing and printed books, became affordable to ordinary families. At the same time, the burning of coal marked the beginning of a large rise in carbon dioxide emissions, which links the story of industrialisation directly to today's debates about climate change.
        """,
    ),
    Article(
        "supply-and-demand",
        "economics",
        ("classroom", "learn"),
        ("Supply and Demand: How Markets Set Prices", "An Introduction to Supply, Demand and Market Equilibrium"),
        """
        Why does a bottle of water cost more at a stadium than at a supermarket, and why do strawberries become cheaper in summer? Economists answer questions like these with the model of supply and demand. It describes how buyers and sellers interact in a market and how their decisions together determine the price of a good and the quantity that is bought and sold. Although the model is simple, it is one of the most widely used tools in economics.

        Demand refers to how much of a good consumers are willing and able to buy at each possible price. For most goods, people buy more when the price falls and less when it rises; this is called the law of demand. If we draw a graph with price on the vertical axis and quantity on the horizontal axis, the demand curve slopes downward. Demand can also shift as a whole when incomes, tastes or the prices of related goods change, for example when a popular substitute becomes more expensive.

        Supply describes how much producers are willing to sell at each price. Higher prices generally make it more profitable to produce, so the supply curve slopes upward. Supply shifts when production costs change, when new technology makes production cheaper or when events such as bad weather destroy part of a harvest. A frost in an orange-growing region, for example, shifts supply to the left and pushes up the price of orange juice in shops far away from the orchards.

        The point where the supply and demand curves cross is called the equilibrium. At this price, the quantity consumers want to buy exactly matches the quantity producers want to sell. If the price is set above equilibrium, unsold goods pile up in a surplus, and sellers tend to lower their prices. If the price is below equilibrium, there is a shortage, queues form and sellers find they can charge more. In this way, markets tend to move toward equilibrium on their own.

        Governments sometimes intervene in markets by fixing prices. A price ceiling, such as a limit on rents, is meant to help buyers but can create shortages if it is set below equilibrium. A price floor, such as a minimum wage, is meant to help sellers of labour but may reduce the number of jobs if it is set too high. Economists disagree about how large these effects are in practice, which is why such policies are so often debated.
        """,
    ),
    Article(
        "what-is-inflation",
        "economics",
        ("classroom",),
        ("What Is Inflation and Why Does It Matter?", "Inflation Explained for Beginners"),
        """
        Inflation is a general rise in the prices of goods and services over time. When inflation occurs, each unit of money buys less than before, so we say that the purchasing power of money has fallen. If a basket of groceries cost 50 dollars last year and costs 52 dollars today, prices have risen by four percent. Mild inflation is normal in most modern economies, but very high inflation can cause serious problems for households and businesses alike.

        Governments measure inflation using price indexes. Statisticians track the prices of a representative basket of items that households typically buy, including food, rent, transport, clothing and entertainment. The consumer price index, or CPI, compares the cost of that basket with its cost in an earlier base year. Because people spend their money in different ways, the official rate may not match every household's experience exactly; a family that drives long distances feels fuel prices more than most.

        Economists usually describe two broad causes of inflation. Demand-pull inflation happens when total spending in the economy grows faster than the economy's ability to produce goods, so too much money chases too few goods. Cost-push inflation happens when the costs of production rise, for instance because of a sudden increase in oil prices, and businesses pass those costs on to customers. In many real episodes both forces are at work at the same time.

        Inflation affects people unequally. Borrowers with fixed-rate loans may benefit, because they repay their debts with money that is worth less. Savers and people living on fixed incomes lose out if the interest they earn does not keep up with rising prices. Extremely rapid inflation, known as hyperinflation, can destroy savings altogether; in Germany in 1923, prices rose so quickly that workers were paid twice a day and rushed to spend their wages before they lost value.

        Most central banks try to keep inflation low and stable, often aiming for around two percent a year. Their main tool is the interest rate. Raising interest rates makes borrowing more expensive, which tends to slow spending and reduce inflationary pressure, while cutting rates encourages borrowing and spending. Because these effects take many months to appear, central banks must make decisions based on forecasts, which is one reason why controlling inflation is difficult.
        """,
    ),
    Article(
        "water-cycle",
        "earth-science",
        ("learn",),
        ("The Water Cycle: Earth's Endless Recycling System", "How Water Moves Around Our Planet"),
        """
        The water on Earth is constantly moving. It falls as rain, flows through rivers, soaks into the ground, rises into the air and falls again, in a continuous loop known as the water cycle or hydrological cycle. Although water changes form and place, the total amount on the planet stays almost the same. The water in your glass today may once have been part of an ocean, a glacier or a cloud drifting over another continent thousands of years ago.

        The cycle is driven by energy from the Sun. Sunlight warms the surface of oceans, lakes and rivers, causing water to evaporate and rise into the atmosphere as invisible water vapour. Plants also release water vapour through tiny pores in their leaves, a process called transpiration. Together, evaporation and transpiration move enormous quantities of water into the air every day, with the oceans supplying by far the largest share, since they cover about seventy percent of the planet's surface.

        As warm, moist air rises, it cools. Cooler air cannot hold as much water vapour, so some of the vapour condenses into tiny droplets around particles of dust or salt, forming clouds. When the droplets collide and grow heavy enough, they fall back to the surface as precipitation, which may take the form of rain, snow, sleet or hail depending on the temperature of the air they pass through on the way down.

        Once water reaches the ground, it can follow several paths. Some runs off the surface into streams and rivers that eventually carry it back to the sea. Some soaks into the soil in a process called infiltration, where it may be taken up by plant roots or sink further to become groundwater stored in layers of rock called aquifers. In cold regions, water may be locked away as ice in glaciers and ice sheets for thousands of years.

        Human activities are changing parts of the water cycle. Cutting down forests reduces transpiration and can make local climates drier, while paving over land increases runoff and the risk of flooding. A warmer climate allows the air to hold more moisture, which tends to make heavy rainfall events more intense. Understanding the water cycle is therefore essential for managing water supplies, planning cities and growing food.
        """,
    ),
    Article(
        "plate-tectonics",
        "earth-science",
        ("learn", "classroom"),
        ("Plate Tectonics: Why Continents Move", "Earthquakes, Volcanoes and the Moving Plates of the Earth"),
        """
        The outer shell of the Earth is not a single solid piece. It is broken into about a dozen large slabs and many smaller ones, called tectonic plates, which fit together like the pieces of a cracked eggshell. The plates rest on a hotter, softer layer of the mantle beneath them and move very slowly, typically a few centimetres a year, roughly the speed at which your fingernails grow. Over millions of years, however, these small movements add up to thousands of kilometres.

        The idea that continents move was proposed in 1912 by the German scientist Alfred Wegener. He noticed that the coastlines of South America and Africa fit together like puzzle pieces and that similar fossils and rock types were found on both sides of the Atlantic Ocean. Wegener suggested that the continents had once been joined in a supercontinent he called Pangaea. Most geologists rejected his idea at the time, mainly because he could not explain what force moved the continents.

        Evidence gathered in the 1950s and 1960s changed their minds. Surveys of the ocean floor revealed long underwater mountain ranges called mid-ocean ridges, where molten rock rises and cools to form new crust. Rocks on either side of the ridges record reversals of the Earth's magnetic field in matching stripes, showing that the sea floor is spreading apart. Together with careful measurements of earthquakes, these discoveries led to the modern theory of plate tectonics.

        Most geological activity happens at plate boundaries. Where plates move apart, at divergent boundaries, new crust forms. Where they collide, at convergent boundaries, one plate may sink beneath another, creating deep ocean trenches and chains of volcanoes, or the crust may crumple upward to form mountain ranges such as the Himalayas. Where plates slide past each other, at transform boundaries like the San Andreas Fault in California, stress builds up and is released in earthquakes.

        Plate tectonics helps explain why some regions face greater natural hazards than others. Countries around the Pacific Ocean, in the area known as the Ring of Fire, experience frequent earthquakes and volcanic eruptions because they sit near active plate boundaries. Scientists cannot yet predict exactly when an earthquake will strike, but by mapping faults and studying past events they can identify high-risk areas, guide building codes and help communities prepare.
        """,
    ),
)


# --- math: worked examples and proofs --------------------------------------------

MATH_ARTICLES = (
    Article(
        "pythagorean-theorem",
        "geometry",
        ("mathcorner", "proofs"),
        ("The Pythagorean Theorem: Statement, Proof and Examples", "Right Triangles and the Pythagorean Theorem"),
        r"""
        The Pythagorean theorem is one of the oldest and most useful results in mathematics. It says that in any right triangle, the square of the hypotenuse (the side opposite the right angle) equals the sum of the squares of the other two sides. If the legs have lengths a and b and the hypotenuse has length c, then $a^2 + b^2 = c^2$.

        ## Worked example

        A ladder 5 metres long leans against a wall, and its foot stands 3 metres from the base of the wall. How high up the wall does the ladder reach? The ladder, the wall and the ground form a right triangle with hypotenuse 5 and one leg 3. Let h be the unknown height.

        $$ 3^2 + h^2 = 5^2 \implies 9 + h^2 = 25 \implies h^2 = 16 \implies h = 4 $$

        So the ladder reaches 4 metres up the wall. Notice that we take only the positive square root, because a length cannot be negative.

        ## A proof by rearrangement

        Take four copies of the right triangle and arrange them inside a square of side a + b so that their hypotenuses form a smaller tilted square in the middle. The area of the big square can be computed in two ways. Directly, it is $(a+b)^2 = a^2 + 2ab + b^2$. Alternatively, it is the area of the inner square plus the four triangles: $c^2 + 4 \cdot \frac{1}{2}ab = c^2 + 2ab$. Setting the two expressions equal and cancelling 2ab gives $a^2 + b^2 = c^2$, which completes the proof.
        """,
    ),
    Article(
        "quadratic-formula",
        "algebra",
        ("mathcorner",),
        ("Deriving the Quadratic Formula by Completing the Square", "How to Solve Any Quadratic Equation"),
        r"""
        A quadratic equation has the form $ax^2 + bx + c = 0$ with a ≠ 0. Every such equation can be solved with the quadratic formula, which we derive here by completing the square.

        ## Derivation

        Divide both sides by a to get x^2 + (b/a)x + c/a = 0, and move the constant term to the right: x^2 + (b/a)x = -c/a. To complete the square, add $(b/2a)^2$ to both sides and simplify the right-hand side:

        $$ \left(x + \frac{b}{2a}\right)^2 = \frac{b^2 - 4ac}{4a^2} $$

        Taking square roots of both sides and subtracting b/(2a) gives the familiar result:

        $$ x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a} $$

        ## Worked example

        Solve 2x^2 - 3x - 2 = 0. Here a = 2, b = -3 and c = -2, so the discriminant is b^2 - 4ac = 9 + 16 = 25. Then x = (3 ± 5) / 4, which gives x = 2 or x = -1/2. Check the first root: 2(2)^2 - 3(2) - 2 = 8 - 6 - 2 = 0.

        The discriminant $\Delta = b^2 - 4ac$ tells us how many real solutions exist: two if Δ > 0, exactly one repeated root if Δ = 0, and none if Δ < 0, in which case the solutions are a pair of complex conjugate numbers.
        """,
    ),
    Article(
        "sqrt-2-is-irrational",
        "number-theory",
        ("proofs", "mathcorner"),
        ("Why the Square Root of 2 Is Irrational", "A Classic Proof by Contradiction"),
        r"""
        A number is rational if it can be written as a fraction p/q of two integers with q ≠ 0. The ancient Greeks were surprised to discover that some lengths, such as the diagonal of a unit square, cannot be written this way. Here is the classic proof that $\sqrt{2}$ is irrational.

        ## Proof by contradiction

        Suppose, for contradiction, that √2 = p/q where p and q are integers with no common factor (we can always reduce a fraction to lowest terms). Squaring both sides gives 2 = p^2/q^2, so

        $$ p^2 = 2q^2 $$

        The right-hand side is even, so p^2 is even. If p were odd, p^2 would be odd, so p itself must be even. Write p = 2k for some integer k. Substituting, we get $4k^2 = 2q^2$, that is, $q^2 = 2k^2$. By the same argument, q must also be even.

        But then p and q are both divisible by 2, contradicting our assumption that the fraction was in lowest terms. The assumption that √2 is rational must therefore be false, so √2 is irrational. ∎

        The same technique proves that √p is irrational for every prime p, and more generally that the square root of any positive integer that is not a perfect square is irrational.
        """,
    ),
    Article(
        "sum-of-first-n-integers",
        "algebra",
        ("mathcorner", "proofs"),
        ("Gauss's Trick: Adding the Numbers from 1 to 100", "The Sum of an Arithmetic Series, Two Ways"),
        r"""
        According to a popular story, the young Carl Friedrich Gauss was asked by his teacher to add up the whole numbers from 1 to 100, and he produced the answer almost immediately. Whether or not the story is true, the trick is worth knowing.

        ## The pairing trick

        Write the sum forwards and backwards: S = 1 + 2 + ... + 100 and S = 100 + 99 + ... + 1. Adding the two lines term by term gives 100 pairs, each summing to 101. Therefore 2S = 100 × 101, and S = 5050.

        ## The general formula

        The same argument works for any positive integer n, giving

        $$ \sum_{k=1}^{n} k = \frac{n(n+1)}{2} $$

        We can also prove this by induction. For n = 1 both sides equal 1. Assume the formula holds for n. Then 1 + 2 + ... + n + (n+1) = n(n+1)/2 + (n+1) = (n+1)(n+2)/2, which is the formula for n + 1. By the principle of mathematical induction, it holds for all n ≥ 1.

        More generally, an arithmetic series with first term a, common difference d and n terms has sum $S_n = \frac{n}{2}(2a + (n-1)d)$. For example, 3 + 7 + 11 + ... + 39 has a = 3, d = 4 and n = 10 terms, so its sum is 5 × (6 + 36) = 210.
        """,
    ),
    Article(
        "infinitely-many-primes",
        "number-theory",
        ("proofs", "mathcorner"),
        ("Euclid's Proof That There Are Infinitely Many Primes", "Why the Primes Never Run Out"),
        r"""
        A prime number is a whole number greater than 1 whose only divisors are 1 and itself: 2, 3, 5, 7, 11, 13 and so on. Around 300 BC, Euclid proved that the list of primes never ends. His argument is short enough to learn by heart, and it is a model of how a proof by contradiction works.

        ## Euclid's proof

        Suppose there were only finitely many primes, say $p_1, p_2, \ldots, p_n$. Consider the number

        $$ N = p_1 \cdot p_2 \cdots p_n + 1 $$

        N is greater than 1, so it has at least one prime factor q. But dividing N by any of the primes p_1, ..., p_n leaves a remainder of 1, so q is not on our list. This contradicts the assumption that the list contained every prime. Hence there are infinitely many primes.

        ## A common misunderstanding

        A common mistake is to think that N itself must always be prime. It need not be: 2 × 3 × 5 × 7 × 11 × 13 + 1 = 30031 = 59 × 509. The proof only needs N to have some prime factor that is missing from the list, and that is guaranteed.
        """,
    ),
    Article(
        "derivative-first-principles",
        "calculus",
        ("mathcorner",),
        ("Derivatives from First Principles", "What a Derivative Really Measures"),
        r"""
        The derivative of a function measures how quickly its value changes as the input changes. Geometrically, $f'(x)$ is the slope of the tangent line to the graph of f at the point x. It is defined as a limit:

        $$ f'(x) = \lim_{h \to 0} \frac{f(x+h) - f(x)}{h} $$

        ## Example: f(x) = x^2

        Substitute into the definition. We have f(x+h) = (x+h)^2 = x^2 + 2xh + h^2, so the difference quotient is (x^2 + 2xh + h^2 - x^2)/h = (2xh + h^2)/h = 2x + h. As h approaches 0, this tends to 2x. Therefore the derivative of x^2 is 2x.

        For instance, at x = 3 the slope of the parabola y = x^2 is 6, so the tangent line there is y - 9 = 6(x - 3), or y = 6x - 9.

        ## The power rule

        Repeating the calculation for f(x) = x^n using the binomial theorem gives the power rule, $\frac{d}{dx} x^n = n x^{n-1}$. It is one of the most frequently used rules in calculus, and it lets us differentiate any polynomial term by term: for example, the derivative of 4x^3 - 5x + 7 is 12x^2 - 5.
        """,
    ),
    Article(
        "two-dice-probability",
        "probability",
        ("mathcorner", "proofs"),
        ("Probability with Two Dice: Worked Examples", "Counting Outcomes When Rolling Dice"),
        r"""
        When two fair six-sided dice are rolled, there are 6 × 6 = 36 equally likely outcomes, which we can write as ordered pairs (first die, second die). Counting outcomes carefully is the key to answering most questions about dice.

        ## Worked example: a sum of 7

        Which pairs give a total of 7? They are (1,6), (2,5), (3,4), (4,3), (5,2) and (6,1), six outcomes in all. So P(sum = 7) = 6/36 = 1/6. No other total is as likely: a sum of 2 can only happen as (1,1), so P(sum = 2) = 1/36.

        ## At least one six

        What is the probability of rolling at least one six? It is easier to count the complement. The probability that neither die shows a six is (5/6) × (5/6) = 25/36, so

        $$ P(\text{at least one six}) = 1 - \left(\frac{5}{6}\right)^2 = \frac{11}{36} \approx 0.306 $$

        A frequent error is to add the probabilities 1/6 + 1/6 = 1/3. This double-counts the outcome (6,6), where both dice show a six. The inclusion-exclusion principle fixes the mistake: 1/6 + 1/6 - 1/36 = 11/36, which agrees with our answer.
        """,
    ),
    Article(
        "compound-interest",
        "algebra",
        ("mathcorner",),
        ("Compound Interest and the Rule of 72", "How Money Grows: Compound Interest Explained"),
        r"""
        If you deposit a principal P in an account that pays an annual interest rate r, compounded once a year, then after t years the balance is

        $$ A = P(1 + r)^t $$

        The formula follows from the fact that each year the balance is multiplied by the same factor (1 + r). After one year you have P(1 + r), after two years P(1 + r)^2, and so on.

        ## Worked example

        Suppose you invest $1,000 at 5% per year. After 10 years the balance is 1000 × 1.05^10 ≈ 1000 × 1.6289 = $1,628.89. With simple interest, where interest is paid only on the original amount, you would have just $1,500, so compounding earned an extra $128.89.

        ## The rule of 72

        How long does it take for money to double? We need $(1 + r)^t = 2$, so t = ln 2 / ln(1 + r). For small r, ln(1 + r) ≈ r and ln 2 ≈ 0.693, which gives t ≈ 0.69/r. Bankers round this to the rule of 72: divide 72 by the interest rate in percent. At 6% a year, money doubles in roughly 72/6 = 12 years; the exact answer is about 11.9 years.
        """,
    ),
    Article(
        "linear-systems-elimination",
        "algebra",
        ("mathcorner", "proofs"),
        ("Solving Systems of Linear Equations by Elimination", "Two Equations, Two Unknowns: The Elimination Method"),
        r"""
        A system of two linear equations in two unknowns can be solved by elimination: we combine the equations so that one unknown disappears. Consider the system

        $$ 2x + 3y = 12, \quad x - y = 1 $$

        Multiply the second equation by 3 to get 3x - 3y = 3, then add it to the first equation. The y terms cancel, leaving 5x = 15, so x = 3. Substituting back into x - y = 1 gives y = 2. Always check the solution in both original equations: 2(3) + 3(2) = 12 and 3 - 2 = 1.

        ## How many solutions?

        Geometrically, each equation describes a line in the plane, and a solution is a point where the lines meet. Two lines can intersect in exactly one point, be parallel and never meet (no solution), or coincide (infinitely many solutions). In matrix form $A\mathbf{x} = \mathbf{b}$, the system has a unique solution exactly when $\det A \neq 0$; here det A = 2(-1) - 3(1) = -5, which is not zero.
        """,
    ),
)

MATH_EXERCISES = (
    "Find the hypotenuse of a right triangle with legs 9 and 12.",
    "Solve x^2 - 5x + 6 = 0 by factoring, then check your answer with the quadratic formula.",
    "Prove that the sum of two even numbers is always even.",
    "Compute 1 + 2 + 3 + ... + 250 without a calculator.",
    "Adapt the proof above to show that √3 is irrational.",
    "Differentiate f(x) = 3x^4 - 2x^2 + x.",
    "Two dice are rolled. What is the probability that the total is 10?",
    "How many years does it take for $500 to grow to $800 at 4% compounded annually?",
    "Solve the system x + y = 10, x - y = 4.",
    "Is 2 × 3 × 5 × 7 + 1 prime? Explain.",
    "Prove by induction that 1 + 3 + 5 + ... + (2n - 1) = n^2.",
    "Find the equation of the tangent line to y = x^3 at x = 1.",
    "A rectangle has sides 7 and 24. How long is its diagonal?",
    "What is the probability of getting at least one head in three fair coin tosses?",
    "For which values of k does x^2 + kx + 9 = 0 have exactly one real root?",
)


# --- code: programming tutorials -------------------------------------------------

CODE_ARTICLES = (
    Article(
        "python-counter-word-frequency",
        "python",
        ("devnotes", "codegarden"),
        ("Counting Words in Python with collections.Counter", "Python Tip: Word Frequencies in Five Lines"),
        r"""
        Counting how often each item appears is one of the most common tasks in everyday programming. Python's standard library includes a class built for exactly this job: Counter, in the collections module. In this tutorial we will count the words in a text file and print the ten most frequent ones.

        ```python
        from collections import Counter
        import re

        def top_words(path, n=10):
            with open(path, encoding="utf-8") as fh:
                text = fh.read().lower()
            words = re.findall(r"[a-z']+", text)
            return Counter(words).most_common(n)

        for word, count in top_words("book.txt"):
            print(f"{word:>12} {count}")
        ```

        The function reads the whole file, converts it to lower case so that "The" and "the" are counted together, and uses a regular expression to extract words. Counter accepts any iterable and builds a dictionary-like object that maps each word to its number of occurrences. The most_common method returns a list of (word, count) pairs sorted from most to least frequent.

        For very large files, reading everything into memory at once may not be practical. Because a Counter can be updated incrementally, you can process the file line by line instead:

        ```python
        counts = Counter()
        with open("book.txt", encoding="utf-8") as fh:
            for line in fh:
                counts.update(re.findall(r"[a-z']+", line.lower()))
        ```

        Counters also support arithmetic. Adding two counters combines their totals and subtracting removes counts, which makes it easy to compare the vocabulary of two documents.
        """,
    ),
    Article(
        "javascript-async-await-fetch",
        "javascript",
        ("devnotes", "codegarden"),
        ("Fetching JSON with async/await in JavaScript", "Async/Await by Example: Loading Data from an API"),
        r"""
        Modern JavaScript makes asynchronous code much easier to read thanks to async functions and the await keyword. In this example we fetch a list of users from a JSON API and display their names, handling errors along the way.

        ```javascript
        async function loadUsers() {
          const response = await fetch("https://api.example.com/v1/users?limit=20");
          if (!response.ok) {
            throw new Error(`Request failed with status ${response.status}`);
          }
          const data = await response.json();
          return data.users.map((user) => user.name);
        }

        loadUsers()
          .then((names) => console.log(names.join(", ")))
          .catch((err) => console.error("Could not load users:", err.message));
        ```

        The await keyword pauses the function until the promise returned by fetch settles, without blocking the rest of the page. Note that fetch only rejects its promise on network failures; an HTTP error such as 404 still resolves normally, which is why we check response.ok ourselves and throw an error if the request did not succeed.

        When you need several independent requests, avoid awaiting them one after another. Promise.all starts them together and waits for all of them to finish:

        ```javascript
        const [posts, comments] = await Promise.all([
          fetch("/api/posts").then((r) => r.json()),
          fetch("/api/comments").then((r) => r.json()),
        ]);
        ```

        If any of the requests fails, Promise.all rejects immediately. Use Promise.allSettled instead when you want the results of the requests that did succeed.
        """,
    ),
    Article(
        "sql-group-by-having",
        "sql",
        ("devnotes",),
        ("SQL GROUP BY and HAVING, Explained with One Query", "Aggregating Orders per Customer in SQL"),
        r"""
        Aggregating data is where SQL really shines. Suppose an online shop stores customers in one table and orders in another. We want to know how much each customer has spent in total, but only for customers with at least three completed orders.

        ```sql
        SELECT c.customer_id,
               c.name,
               COUNT(o.order_id)   AS order_count,
               SUM(o.total_amount) AS total_spent
        FROM customers AS c
        JOIN orders AS o ON o.customer_id = c.customer_id
        WHERE o.status = 'completed'
        GROUP BY c.customer_id, c.name
        HAVING COUNT(o.order_id) >= 3
        ORDER BY total_spent DESC
        LIMIT 10;
        ```

        The JOIN matches each order with the customer who placed it. WHERE filters individual rows before grouping, so cancelled orders are ignored. GROUP BY then collapses the remaining rows into one row per customer, and aggregate functions such as COUNT and SUM summarise each group. HAVING is like WHERE but applies to groups after aggregation, which is why the condition on the number of orders goes there.

        A frequent beginner mistake is to select a column that is neither grouped nor aggregated. Most databases reject such queries because it is not clear which value from the group should be shown. If you want customers with no orders to appear as well, use a LEFT JOIN, move the status condition into the ON clause and wrap the sum in COALESCE(SUM(o.total_amount), 0).
        """,
    ),
    Article(
        "rust-result-error-handling",
        "rust",
        ("devnotes", "codegarden"),
        ("Error Handling in Rust with Result and the ? Operator", "Rust for Beginners: Dealing with Errors"),
        r"""
        Rust does not have exceptions. Functions that can fail return a Result, an enum that is either Ok with a value or Err with an error. The compiler makes sure you deal with both cases, which prevents a whole class of bugs.

        ```rust
        use std::fs;
        use std::num::ParseIntError;

        fn parse_total(text: &str) -> Result<i64, ParseIntError> {
            let mut total = 0;
            for line in text.lines() {
                let value: i64 = line.trim().parse()?;
                total += value;
            }
            Ok(total)
        }

        fn main() {
            let text = fs::read_to_string("numbers.txt").expect("could not read file");
            match parse_total(&text) {
                Ok(total) => println!("total = {}", total),
                Err(e) => eprintln!("bad number in input: {}", e),
            }
        }
        ```

        The question mark operator is the key to readable error handling. Inside parse_total, line.trim().parse()? either unwraps a successful parse or returns the error to the caller immediately. This keeps the happy path short while still propagating failures. In main we use match to handle both outcomes explicitly.

        Calling expect or unwrap is acceptable in small programs and tests, but in library code it is usually better to return errors and let the caller decide what to do. Crates such as thiserror and anyhow make it easier to define and combine error types in larger projects.
        """,
    ),
    Article(
        "python-csv-dictreader",
        "python",
        ("devnotes", "codegarden"),
        ("Reading CSV Files in Python with csv.DictReader", "Averages from a CSV File Using Only the Standard Library"),
        r"""
        CSV files are everywhere, from spreadsheet exports to open data portals. Python's built-in csv module reads them safely, handling quoted fields and embedded commas that would trip up a naive split on commas.

        ```python
        import csv
        from collections import defaultdict

        totals = defaultdict(float)
        counts = defaultdict(int)

        with open("temperatures.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                city = row["city"]
                totals[city] += float(row["temp_c"])
                counts[city] += 1

        for city in sorted(totals):
            print(f"{city}: {totals[city] / counts[city]:.1f} °C")
        ```

        DictReader uses the first line of the file as column names and yields each following row as a dictionary, so the code can refer to row["city"] instead of remembering column positions. The defaultdict objects start every new key at zero, which removes the need to check whether a city has been seen before.

        Always open CSV files with newline="" as the documentation recommends; otherwise line breaks inside quoted fields may be handled incorrectly. For large analytical workloads, a library such as pandas can do the same calculation in a single line, but understanding the standard library version helps you see what such tools do behind the scenes.
        """,
    ),
    Article(
        "javascript-map-filter-reduce",
        "javascript",
        ("devnotes",),
        ("map, filter and reduce: JavaScript Array Methods by Example", "Replace Your Loops with Array Methods"),
        r"""
        Arrays in JavaScript come with powerful methods that replace many hand-written loops. Three of the most useful are filter, map and reduce. Each takes a function as an argument and returns a new value without modifying the original array.

        ```javascript
        const products = [
          { name: "Notebook", price: 3.5, inStock: true },
          { name: "Pen", price: 1.2, inStock: false },
          { name: "Backpack", price: 29.9, inStock: true },
        ];

        const available = products.filter((p) => p.inStock);
        const labels = available.map((p) => `${p.name} ($${p.price.toFixed(2)})`);
        const total = available.reduce((sum, p) => sum + p.price, 0);

        console.log(labels); // ["Notebook ($3.50)", "Backpack ($29.90)"]
        console.log(total);  // 33.4
        ```

        filter keeps only the elements for which the callback returns true. map transforms each element into something new, here a display label. reduce combines all elements into a single value by repeatedly applying the callback to an accumulator, which starts at the initial value passed as the second argument.

        Because each method returns a new array, calls can be chained, and products.filter(...).map(...) reads almost like a sentence. Be careful with reduce on empty arrays, though: without an initial value it throws a TypeError, so it is a good habit to always supply one.
        """,
    ),
    Article(
        "shell-find-largest-files",
        "shell",
        ("devnotes", "codegarden"),
        ("Finding Large Files from the Command Line", "Shell Recipes: Where Did My Disk Space Go?"),
        r"""
        When a disk fills up, the first question is always which files are taking the space. Two standard tools answer it quickly: find, which walks a directory tree, and du, which reports disk usage. Both are available on practically every Linux system.

        ```bash
        # the 10 largest files under the current directory, in bytes
        find . -type f -printf '%s\t%p\n' | sort -nr | head -n 10

        # total size of each top-level directory, human readable, smallest first
        du -sh -- */ | sort -h
        ```

        The -printf option tells find to print the size and path of every regular file, separated by a tab. Piping the result into sort -nr orders the lines numerically from largest to smallest, and head keeps the first ten. The second command asks du for a summary (-s) in human-readable units (-h) of each directory; sort -h understands suffixes such as K, M and G.

        Be careful before deleting anything you find this way. Large files inside .git directories, database folders or container images are often essential, and removing them by hand can corrupt the program that owns them.
        """,
    ),
)


# --- general: news, recipes, travel, reviews, blogs ----------------------------------

GENERAL_ARTICLES = (
    Article(
        "council-approves-bike-lanes",
        "local",
        ("news",),
        ("Council approves protected bike lanes downtown", "Millbrook to build protected bike lanes on Harbor Street"),
        """
        MILLBROOK — The city council voted 7–2 on Tuesday night to build protected bike lanes along Harbor Street and Fifth Avenue, two of the busiest roads in the downtown area. Construction is expected to begin next spring and take about eight months.

        Supporters said the lanes would make cycling safer and help local shops by bringing more customers on foot and by bike. "Families have been asking for this for years," said council member Dana Whitfield, who proposed the plan. Several residents spoke in favour during the public comment period, including a group of parents from Lincoln Elementary School.

        Opponents raised concerns about the loss of about 60 parking spaces and possible delays for delivery trucks. The council agreed to add loading zones on side streets and to review traffic data six months after the lanes open. The project will cost an estimated $4.2 million, most of which will come from a state transportation grant.
        """,
    ),
    Article(
        "library-extends-hours",
        "local",
        ("news",),
        ("Public library to stay open later on weekdays", "Millbrook library adds evening hours after survey"),
        """
        Starting next month, the Millbrook Public Library will stay open until 9 p.m. Monday through Thursday, two hours later than its current closing time. Library director Priya Raman said the change responds to a survey in which more than 1,200 residents asked for evening hours.

        "Many people work during the day and could only visit on Saturdays," Raman said. "Students also told us they need a quiet place to study after school." The extended hours will be funded by reallocating part of the budget for printed periodicals, many of which are now available online.

        The library also plans to add evening programmes, including a weekly homework help session and a beginners' computer class for older adults. A full schedule will be posted on the library's website and at the front desk.
        """,
    ),
    Article(
        "storm-power-outages",
        "weather",
        ("news",),
        ("Storm leaves thousands without power", "Crews restore power after overnight storm"),
        """
        A fast-moving storm brought heavy rain and wind gusts of up to 90 kilometres per hour to the region on Wednesday evening, leaving about 14,000 homes without electricity. Crews worked through the night to clear fallen trees from roads and repair damaged lines.

        By Thursday afternoon, the power company said service had been restored to all but 1,500 customers, mostly in rural areas north of the river. Officials urged residents to stay away from downed power lines and to report them immediately.

        Schools in two districts opened two hours late on Thursday. The weather service said conditions would remain unsettled through the weekend, with further showers but no repeat of the strong winds expected.
        """,
    ),
    Article(
        "riverside-beat-harbor-city",
        "sports",
        ("news",),
        ("Riverside United edge past Harbor City in late thriller", "Late Martins goal lifts Riverside to third"),
        """
        Riverside United came from behind to beat Harbor City 2–1 on Saturday, with substitute Leo Martins scoring the winner in the 88th minute. The result lifts Riverside to third place in the regional league with six matches left to play.

        Harbor City had taken the lead shortly before half-time through a well-worked corner routine. Riverside responded after the break with more attacking intent, and captain Sam Okafor equalised with a low shot from the edge of the box in the 64th minute.

        "We showed a lot of character today," said Riverside coach Elena Brooks after the match. "The players kept believing until the end." Harbor City will look to bounce back next weekend when they host league leaders Northfield Athletic.
        """,
    ),
    Article(
        "weeknight-lentil-soup",
        "soups",
        ("kitchen",),
        ("Easy Weeknight Lentil Soup", "One-Pot Lentil Soup (Ready in 40 Minutes)"),
        """
        This lentil soup is my go-to dinner when the fridge is nearly empty. It uses pantry staples, takes about 40 minutes from start to finish, and tastes even better the next day. The recipe makes four generous bowls.

        ## Ingredients

        - 1 cup (200 g) red or brown lentils, rinsed
        - 1 onion, finely chopped
        - 2 carrots, diced
        - 2 cloves garlic, minced
        - 1 can (400 g) chopped tomatoes
        - 1 litre vegetable stock
        - 1 teaspoon ground cumin
        - Salt, pepper and a squeeze of lemon juice

        ## Method

        Heat a little olive oil in a large pot and cook the onion and carrots over medium heat for about eight minutes, until soft. Add the garlic and cumin and stir for one more minute. Tip in the lentils, tomatoes and stock, bring to a boil, then lower the heat and simmer for 25 minutes, stirring now and then.

        Season with salt and pepper and add the lemon juice just before serving. If you like a smoother texture, blend half of the soup and stir it back in. Leftovers keep in the fridge for up to four days.
        """,
        comments=True,
    ),
    Article(
        "classic-banana-bread",
        "baking",
        ("kitchen",),
        ("Classic Banana Bread", "The Only Banana Bread Recipe You Need"),
        """
        Banana bread is the perfect way to use up bananas that have gone brown and spotty. The riper the bananas, the sweeter and more fragrant the loaf will be.

        ## Ingredients

        - 3 very ripe bananas
        - 75 g butter, melted
        - 150 g sugar
        - 1 egg, beaten
        - 1 teaspoon vanilla extract
        - 1 teaspoon baking soda
        - a pinch of salt
        - 190 g plain flour

        ## Method

        Preheat the oven to 175 °C and grease a loaf tin. Mash the bananas in a mixing bowl, then stir in the melted butter, sugar, egg and vanilla. Sprinkle the baking soda and salt over the mixture and fold in the flour until just combined; a few lumps are fine.

        Pour the batter into the tin and bake for about 60 minutes, until a skewer inserted in the middle comes out clean. Let it cool in the tin for ten minutes before turning it out onto a rack. It keeps well for three days if wrapped.
        """,
        comments=True,
    ),
    Article(
        "slow-weekend-on-the-coast",
        "travel",
        ("blog",),
        ("A Slow Weekend on the Coast", "Two Days by the Sea, No Plan Required"),
        """
        We left the city on Friday afternoon with no real plan except to sleep late and eat well. Three hours later we were checking into a small guesthouse overlooking the harbour, where the owner greeted us with coffee and a hand-drawn map of her favourite walks.

        Saturday morning began with a cliff path that wound past tiny coves and fields full of wildflowers. The trail is well marked but steep in places, so good shoes are a must. We stopped for lunch at a fish shack near the lighthouse, where the grilled sardines were simple and perfect.

        On Sunday it rained, which turned out to be a gift. We spent hours in the local museum learning about the town's fishing history and then read by the fire in a tiny bookshop café. If you go, visit outside the summer holidays: the beaches are quieter and prices for rooms drop by almost half.
        """,
        comments=True,
    ),
    Article(
        "balcony-tomatoes",
        "garden",
        ("blog",),
        ("What I Learned Growing Tomatoes on a Balcony", "Balcony Tomatoes: A Beginner's Diary"),
        """
        Last spring I decided to try growing tomatoes on my small south-facing balcony. I had no garden experience, just three large pots, a bag of compost and a lot of optimism. By August I was harvesting more cherry tomatoes than I could eat, and I learned a few lessons along the way.

        First, pot size matters. My plants in 30-litre containers grew twice as big as the one I squeezed into a smaller pot. Second, tomatoes are thirsty: on hot days I had to water morning and evening, and the plants sulked whenever I forgot. A saucer under each pot helped keep the roots moist.

        Finally, do not be afraid to prune. Pinching out the side shoots that grow between the main stem and the leaves kept the plants manageable and seemed to produce bigger fruit. Next year I want to try a yellow variety and maybe some basil to plant alongside.
        """,
        comments=True,
    ),
    Article(
        "aurora-x2-headphones-review",
        "audio",
        ("reviews",),
        ("Review: Aurora X2 Wireless Headphones", "Aurora X2 Review: Great Battery, Good Sound"),
        """
        The Aurora X2 are mid-priced wireless headphones that promise long battery life and effective noise cancellation. I used them for three weeks on my daily commute, during long work sessions and on one transatlantic flight.

        Sound quality is warm and pleasant, with strong bass that never becomes muddy. Vocals are clear, although the highest frequencies can sound slightly dull compared with more expensive rivals. Noise cancellation handles engine drone very well but lets through more chatter from nearby voices.

        Battery life is the standout feature: I got around 35 hours per charge with noise cancellation switched on, close to the advertised figure. The ear cushions are comfortable for a couple of hours, but people with larger ears may find them a little tight. The companion app is basic but works.

        Verdict: if you want reliable, comfortable headphones for travel and do not need audiophile detail, the Aurora X2 are good value. Rating: 4 out of 5.
        """,
        comments=True,
    ),
    Article(
        "budget-laptop-review",
        "laptops",
        ("reviews",),
        ("Review: The Nimbus 14 Is a Sensible Budget Laptop", "Nimbus 14 Review: Cheap, Light and Mostly Good Enough"),
        """
        The Nimbus 14 costs less than many phones, which immediately raises the question of what has been left out. After two weeks of writing, browsing and video calls, the answer is: less than you might expect, but more than the spec sheet admits.

        The aluminium lid feels sturdy and the whole machine weighs just 1.3 kilograms. The keyboard is comfortable for long typing sessions, although the trackpad is small and a little imprecise. The screen is sharp enough, but it is dim outdoors and colours look washed out next to pricier models.

        Performance is fine for documents and a dozen browser tabs, and the fan stays quiet. Photo editing and games are another story. Battery life averaged nine hours in our tests. If you need a dependable second computer or a laptop for school, the Nimbus 14 is easy to recommend; anyone with heavier workloads should spend more.
        """,
        comments=True,
    ),
)

COMMENTS = (
    "Made this last night and the whole family loved it. Thanks!",
    "Great post, thanks for sharing.",
    "I tried this and it worked perfectly the first time.",
    "Could you say more about where you bought the pots?",
    "Not bad, but I think you are too generous with the rating.",
    "Bookmarked! Very helpful.",
    "We went there last year too, such a lovely place.",
    "First!",
    "Does this work with gluten-free flour?",
    "Mine came out a bit dry, maybe my oven runs hot.",
)


# --- non_english: several sentences each, by language ----------------------------------

NON_ENGLISH = (
    Article(
        "bienen-und-ernaehrung",
        "natur",
        ("de",),
        ("Warum Bienen für unsere Ernährung so wichtig sind", "Bienen: kleine Tiere, große Wirkung"),
        """
        Bienen gehören zu den wichtigsten Bestäubern der Welt. Wenn eine Biene von Blüte zu Blüte fliegt, um Nektar zu sammeln, trägt sie Pollen mit sich und sorgt so dafür, dass Pflanzen Früchte und Samen bilden können. Ein großer Teil unserer Obst- und Gemüsesorten ist auf diese Arbeit angewiesen.

        In den letzten Jahrzehnten ist die Zahl der Wildbienen in vielen Regionen deutlich zurückgegangen. Fachleute nennen dafür mehrere Gründe: den Verlust von blühenden Wiesen, den Einsatz von Pflanzenschutzmitteln und den Klimawandel, der die Blütezeiten vieler Pflanzen verschiebt.

        Jeder kann etwas für Bienen tun. Schon ein kleiner Balkonkasten mit heimischen Wildblumen bietet Nahrung. Wer einen Garten hat, kann einen Teil des Rasens seltener mähen und ein sogenanntes Insektenhotel aufstellen, in dem Wildbienen ihre Eier ablegen können.
        """,
    ),
    Article(
        "bienfaits-de-la-marche",
        "sante",
        ("fr",),
        ("Les bienfaits de la marche quotidienne", "Marcher trente minutes par jour : pourquoi ça change tout"),
        """
        Marcher trente minutes par jour est l'une des habitudes les plus simples pour rester en bonne santé. Cette activité ne demande aucun équipement particulier et peut se pratiquer à tout âge, en ville comme à la campagne.

        Selon de nombreuses études, la marche régulière renforce le cœur, améliore la circulation sanguine et aide à contrôler le poids. Elle a aussi des effets positifs sur le moral : après une promenade, beaucoup de personnes se sentent plus calmes et plus concentrées.

        Pour commencer, il suffit de choisir un trajet agréable et de sortir à heure fixe. On peut par exemple descendre du bus un arrêt plus tôt ou prendre les escaliers plutôt que l'ascenseur. L'essentiel est de garder un rythme confortable et de progresser petit à petit.
        """,
    ),
    Article(
        "tortilla-de-patatas",
        "recetas",
        ("es",),
        ("Cómo preparar una tortilla de patatas", "La tortilla de patatas perfecta, paso a paso"),
        """
        La tortilla de patatas es uno de los platos más populares de la cocina española. Se prepara con ingredientes muy sencillos: patatas, huevos, aceite de oliva, sal y, según el gusto de cada familia, cebolla.

        Primero se pelan las patatas y se cortan en láminas finas. Después se fríen a fuego lento en abundante aceite hasta que estén tiernas, sin que lleguen a dorarse demasiado. Mientras tanto, se baten los huevos en un cuenco grande con una pizca de sal.

        Cuando las patatas están listas, se escurren y se mezclan con el huevo batido. La mezcla se vierte en una sartén caliente y se cuaja por un lado. Con ayuda de un plato, se le da la vuelta y se cocina un par de minutos más. Se puede servir caliente o fría.
        """,
    ),
    Article(
        "firenze-rinascimento",
        "citta",
        ("it",),
        ("Firenze, culla del Rinascimento", "Una passeggiata nella Firenze dei Medici"),
        """
        Firenze è considerata la culla del Rinascimento, il grande movimento culturale che tra il Quattrocento e il Cinquecento trasformò l'arte, l'architettura e il pensiero europeo. In quegli anni la città era un importante centro di commercio e di banca.

        Famiglie ricche come i Medici finanziarono pittori, scultori e architetti. Grazie al loro sostegno lavorarono a Firenze artisti come Brunelleschi, che progettò la celebre cupola del Duomo, Botticelli e il giovane Michelangelo.

        Ancora oggi milioni di visitatori arrivano ogni anno per ammirare le opere custodite nella Galleria degli Uffizi e passeggiare sul Ponte Vecchio. Per visitare la città con calma è consigliabile evitare i mesi estivi, quando il caldo e la folla rendono tutto più faticoso.
        """,
    ),
    Article(
        "economizar-energia",
        "energia",
        ("pt",),
        ("Dicas para economizar energia em casa", "Como reduzir a conta de luz sem perder conforto"),
        """
        Reduzir o consumo de energia em casa é bom para o orçamento familiar e para o meio ambiente. Muitas vezes, pequenas mudanças de hábito já fazem uma diferença visível na conta de luz ao fim do mês.

        Uma das medidas mais simples é trocar as lâmpadas antigas por lâmpadas de LED, que gastam muito menos e duram mais. Também vale a pena desligar os aparelhos da tomada quando não estão em uso, já que muitos continuam a consumir energia em modo de espera.

        Na cozinha, manter a porta da geladeira fechada o máximo possível e não colocar alimentos quentes lá dentro ajuda a poupar eletricidade. Para lavar roupa, o ideal é esperar juntar uma carga completa e usar água fria sempre que possível.
        """,
    ),
    Article(
        "jak-zaczac-nauke-jezyka",
        "porady",
        ("pl",),
        ("Jak zacząć naukę języka obcego", "Nauka języka obcego: pierwsze kroki"),
        """
        Nauka nowego języka może wydawać się trudna, ale dzięki regularności i dobrym nawykom każdy może osiągnąć postępy. Najważniejsze jest, aby uczyć się codziennie, nawet jeśli jest to tylko piętnaście minut.

        Warto od początku słuchać, jak mówią rodzimi użytkownicy języka. Filmy, podcasty i piosenki pomagają oswoić się z wymową i rytmem zdań. Dobrym pomysłem jest także prowadzenie krótkiego dziennika, w którym zapisujemy nowe słowa i proste zdania.

        Nie należy bać się błędów. Rozmowa z drugą osobą, nawet bardzo prosta, daje więcej niż godziny spędzone nad podręcznikiem. Z czasem zauważymy, że rozumiemy coraz więcej i mówimy coraz swobodniej.
        """,
    ),
    Article(
        "fietsen-in-nederland",
        "nieuws",
        ("nl",),
        ("Waarom Nederland het land van de fiets is", "Fietsen in Nederland: succes en uitdagingen"),
        """
        Nederland staat bekend als het land van de fiets. Er zijn meer fietsen dan inwoners en in veel steden is de fiets het snelste vervoermiddel voor korte afstanden. Kinderen leren al jong fietsen en rijden vaak zelfstandig naar school.

        Het succes van de fiets heeft veel te maken met de infrastructuur. Er zijn duizenden kilometers vrijliggende fietspaden, en bij stations staan grote fietsenstallingen. Bovendien is het land grotendeels vlak, waardoor fietsen weinig inspanning kost.

        Toch zijn er ook uitdagingen. In drukke binnensteden is het soms moeilijk om een plek te vinden om de fiets te parkeren, en fietsdiefstal blijft een bekend probleem. Gemeenten investeren daarom in nieuwe stallingen en betere verlichting.
        """,
    ),
    Article(
        "ozero-baikal",
        "priroda",
        ("ru",),
        ("Байкал — самое глубокое озеро планеты", "Удивительный Байкал: факты и советы путешественникам"),
        """
        Байкал — самое глубокое озеро на планете. Его максимальная глубина превышает тысячу шестьсот метров, а в его котловине содержится около двадцати процентов всей пресной озёрной воды Земли.

        Вода в Байкале необычайно чистая и прозрачная: в ясную погоду можно разглядеть камни на глубине нескольких десятков метров. В озере обитает множество видов растений и животных, которые не встречаются больше нигде, например байкальская нерпа.

        Каждый год на берега озера приезжают тысячи туристов. Зимой лёд становится таким толстым, что по нему можно ходить и даже ездить, а летом путешественники отправляются в походы по живописным тропам вокруг Байкала.
        """,
    ),
    Article(
        "cha-de-lishi",
        "wenhua",
        ("zh",),
        ("茶的历史与文化", "从神农到陆羽：中国茶的故事"),
        """
        茶起源于中国，已经有几千年的历史。传说中，神农在野外煮水时，几片树叶落入锅中，水的颜色和香味都发生了变化，这就是人们最早发现茶的故事。

        唐代时，饮茶在社会各阶层中普及开来。陆羽写下了《茶经》，详细记录了茶的种植、采摘、制作和饮用方法，这本书被认为是世界上第一部关于茶的专著。

        今天，中国的茶叶种类非常丰富，主要包括绿茶、红茶、乌龙茶、白茶、黄茶和黑茶。不同地区的气候和土壤让每一种茶都有独特的味道，喝茶也成为人们日常生活和待客的重要方式。
        """,
    ),
    Article(
        "fujisan",
        "shizen",
        ("ja",),
        ("富士山の魅力", "日本一の山、富士山を知ろう"),
        """
        富士山は日本で最も高い山で、標高は三七七六メートルです。静岡県と山梨県にまたがり、美しい円すい形の姿は古くから多くの絵や詩に描かれてきました。

        夏の登山シーズンには、毎年たくさんの人が山頂を目指します。多くの登山者は夜に山小屋を出発し、頂上で日の出を見ることを楽しみにしています。

        二〇一三年には、富士山は「信仰の対象と芸術の源泉」として世界文化遺産に登録されました。周辺には湖や温泉も多く、一年を通して観光客が訪れます。
        """,
    ),
)


# --- special charset pages (encoded by crawl.py in the charset named here) --------------

CHARSET_PAGES = {
    "windows-1252": Article(
        "creme-brulee-for-beginners",
        "baking",
        ("kitchen",),
        ("Crème brûlée for beginners — “easier than you think”",),
        """
        Few desserts feel as elegant as crème brûlée, yet the recipe needs only four ingredients: cream, egg yolks, sugar and vanilla. The “burnt cream” on top is simply a thin layer of sugar caramelised under a hot grill or with a small kitchen torch.

        You will need 500 ml of double cream, 5 egg yolks, 80 g of caster sugar plus extra for the topping, and one vanilla pod. A set of six ramekins costs about €12 in most kitchen shops — well worth it if you plan to make this more than once.

        Heat the cream with the vanilla until it just begins to steam, whisk the yolks with the sugar, then pour the warm cream over them while whisking. Bake the ramekins in a water bath at 150 °C for 35–40 minutes, until the custard is set but still wobbles in the centre. Chill for at least four hours before caramelising the top.

        My friend Zoë, who trained as a pâtissier in Lyon, swears by one trick: “Tap the sugar crust with a spoon — if it cracks like thin ice, you’ve got it right.”
        """,
    ),
    "iso-8859-1": Article(
        "wochenende-in-koeln",
        "staedte",
        ("de_travel",),
        ("Ein Wochenende in Köln: Dom, Rhein und Brauhäuser",),
        """
        Köln ist eine der ältesten Städte Deutschlands und wurde vor fast zweitausend Jahren von den Römern gegründet. Wer mit dem Zug ankommt, steht direkt vor dem Kölner Dom, dessen gotische Türme über 157 Meter hoch sind.

        Der Bau des Doms begann im Jahr 1248 und wurde erst 1880 vollendet. Für einen großartigen Blick über die Stadt lohnt sich der Aufstieg über 533 Stufen bis zur Aussichtsplattform im Südturm.

        Nach der Besichtigung empfiehlt sich ein Spaziergang am Rheinufer. In der Altstadt laden zahlreiche Brauhäuser zu einem frisch gezapften Kölsch und deftigen Gerichten wie "Himmel un Ääd" ein, einer Spezialität aus Kartoffeln, Äpfeln und Blutwurst.

        Übrigens: Im Februar feiern die Kölner ausgiebig Karneval. Wer in dieser Zeit reisen möchte, sollte seine Unterkunft früh buchen, denn die Hotels sind schnell ausgebucht.
        """,
    ),
    "windows-1251": Article(
        "samovar-i-chaepitie",
        "stati",
        ("ru",),
        ("Самовар и русское чаепитие",),
        """
        Самовар долгое время был символом русского чаепития. В большом металлическом сосуде кипятили воду, а сверху ставили небольшой заварочный чайник с крепкой заваркой.

        Каждый гость наливал себе немного заварки и разбавлял её кипятком по вкусу. Поэтому чай можно было сделать и крепким, и совсем лёгким.

        К чаю обычно подавали варенье, мёд, баранки и пироги. Чаепитие превращалось в долгую неторопливую беседу, которая могла продолжаться несколько часов.
        """,
    ),
}


# --- pii: realistic pages full of (fictional) personal data ------------------------------

FAKE_PEOPLE = (
    ("Jane", "Doe"),
    ("John", "Roe"),
    ("Alex", "Placeholder"),
    ("Morgan", "Testwell"),
    ("Casey", "Sampleton"),
    ("Riley", "Fakename"),
    ("Jordan", "Example"),
    ("Taylor", "Mockridge"),
    ("Sam", "Dummyson"),
    ("Pat", "Fictitious"),
    ("Robin", "Notreal"),
    ("Quinn", "Specimen"),
)
FAKE_STREETS = (
    "Example Avenue",
    "Placeholder Lane",
    "Sample Street",
    "Fictional Road",
    "Testing Way",
    "Mockingbird Close",
)
FAKE_TOWNS = (
    ("Exampleville", "ZZ", "00017"),
    ("Testford", "XX", "00042"),
    ("Sampleton-on-Sea", "YY", "00099"),
    ("Springfield Example", "ZZ", "00123"),
)

PII_TEMPLATES = (
    Article(
        "contact-us",
        "contact",
        ("plumbing",),
        ("Contact Us", "Get in Touch"),
        """
        Need a plumber today? Our friendly team is available Monday to Saturday, 8am to 6pm, with a 24-hour emergency line for burst pipes and boiler breakdowns.

        ## Office

        Harbor Lane Plumbing, {address}

        - Main office: {phone_b}
        - Emergency line: {phone_a}
        - UK partner desk: {phone_uk}
        - Email: {email}
        - Accounts: {email2}

        Office manager {person} handles quotes and invoices; for technical questions please ask for {person2}, our senior engineer, at {email3}.

        When you submit the contact form, your IP address ({ip}) is stored for 30 days to help us prevent spam. We never share your details with third parties.
        """,
    ),
    Article(
        "router-keeps-dropping",
        "f/routers",
        ("forum",),
        ("Router keeps dropping connection every evening", "Wi-Fi drops at 9pm every night?"),
        """
        Posted by {user} on {date}

        Hi all, my router keeps dropping the connection every evening around 9pm. The admin page is at 192.168.1.1 and it says my WAN address is {ip}, but after the drop it comes back with {ip2}. I already tried a factory reset and a new cable.

        If anyone from the ISP reads this, my account is under the name {person} and I can be reached at {email} or on {phone_b} after 6pm. Happy to send logs.

        ## Reply from {user2}

        Sounds like the DHCP lease is renewing and failing. Check the log for lease errors. If you want, I can look at your config, email me at {email2} or call {phone_uk} (I'm in London, so mind the time difference).

        ## Reply from {user}

        Thanks! Update: the ISP sent a technician to {address} yesterday and replaced the modem. No drops so far. You can also text me on {phone_c} if you want the old modem for parts.
        """,
    ),
    Article(
        "staff-directory",
        "directory",
        ("school",),
        ("Staff Directory", "Who's Who at Westfield"),
        """
        This directory lists teaching and support staff for the current school year. Please use staff email addresses for school business only.

        {table}

        Main reception: {phone_b}. Attendance line: {phone_a}. Postal address: Westfield Academy, {address}.

        Remote access to the staff portal is only permitted from the school network ({ip_range}); the VPN gateway is {ip}. Report problems to {person} at {email}.
        """,
    ),
    Article(
        "bike-for-sale",
        "for-sale",
        ("classifieds",),
        ("FOR SALE: Adult bike, barely used", "Mountain bike for sale, good condition"),
        """
        Selling my 21-speed bike, bought two years ago and ridden maybe ten times. Includes lights, a lock and a helmet (size M). Asking $180 or best offer.

        Pick-up only from {address}. Call or text {person} on {phone_b} or {phone_a}, or email {email}. No time-wasters please.

        Ad #{ad_id} posted by {user} from {ip}. Report this ad: {email2}.
        """,
    ),
    Article(
        "volunteer-signup",
        "events",
        ("forum",),
        ("Volunteers needed for the spring cleanup", "Spring park cleanup: sign-up thread"),
        """
        Posted by {user} on {date}

        We are organising a park cleanup on the first Saturday of next month. Gloves, bags and snacks are provided. Please reply with your name and how many people you will bring.

        Coordinator: {person}, {email}, mobile {phone_a}. Backup contact: {person2}, {phone_c}. Meeting point: the community hall at {address}.

        Our sign-up form logs the address you submit from (yours shows as {ip}) so that we can block duplicate entries. Questions from overseas partners: {phone_uk} or {email2}.
        """,
    ),
)

STAFF_ROLES = (
    "Head Teacher",
    "Deputy Head",
    "Maths Teacher",
    "Science Teacher",
    "English Teacher",
    "History Teacher",
    "IT Technician",
    "School Nurse",
    "Librarian",
    "Office Manager",
)


# --- low_value: thin pages ------------------------------------------------------------------

LOW_VALUE_TOPICS = (
    "celebrities",
    "cats",
    "smartphones",
    "weight loss",
    "cars",
    "holidays",
    "gaming",
    "recipes",
    "crypto",
    "shoes",
)

LOW_VALUE_TEMPLATES = (
    (
        "{n} Amazing Facts About {topic} You Won't Believe",
        """
        You won't believe these facts! Scroll down to see them all.

        1. Fact number one is really surprising.
        2. This one will shock you.
        3. Click next to see more.
        4. Number 4 changed everything.
        5. Share this with your friends!

        Continue to page 2 >>
        """,
    ),
    (
        "Members Only: {topic}",
        """
        This content is available to registered members only.

        Please sign in or create a free account to continue reading.

        - Sign in
        - Create account
        - Forgot password?
        """,
    ),
    (
        "Download {topic} Now",
        """
        Click here to download.

        Click here for more information.

        Your download will start shortly. If it does not start, click here.
        """,
    ),
    (
        "{topic} Links",
        """
        Useful links:

        - Home
        - {topic}
        - {topic} 2
        - More {topic}
        - Best {topic}
        - Top {topic} sites
        - Links
        - Contact
        """,
    ),
    (
        "Page Not Found",
        """
        Oops! The page you are looking for does not exist.

        It may have been moved or deleted. Go back to the homepage.
        """,
    ),
    (
        "Coming Soon",
        """
        Coming soon! Our new {topic} page is under construction.

        Check back later.
        """,
    ),
    (
        "Tag: {topic}",
        """
        Posts tagged "{topic}"

        No posts found.

        - Previous
        - Next
        """,
    ),
    (
        "Top {n} {topic} of All Time",
        """
        Here is our list!

        1. The first one
        2. The second one
        3. See the rest in the gallery

        Like and subscribe for more {topic}.
        """,
    ),
)


# --- spam: keyword stuffing ---------------------------------------------------------------

SPAM_KEYWORDS = (
    "cheap pills",
    "discount pharmacy",
    "casino bonus",
    "free spins",
    "online slots",
    "best price",
    "buy now",
    "payday loans",
    "fast cash",
    "weight loss pills",
    "replica watches",
    "crypto signals",
    "cheap followers",
    "seo backlinks",
    "bonus codes",
    "lowest price guaranteed",
)
SPAM_BRANDS = (
    "MegaSlots777",
    "LuckySpin Palace",
    "VitaBoost Pro",
    "KetoBurn X",
    "CashNow24",
    "CryptoMoon Signals",
    "PillsPrime Store",
    "GoldenJackpot Club",
    "FollowerFactory",
    "RankRocket SEO",
)
SPAM_TITLES = (
    "{kw} {kw2} Best Price {kw} Buy Now Cheap",
    "Cheap {kw} Online - {kw} {kw2} - Free {kw2}",
    "{Brand} | {kw} | {kw2} | {kw} {year}",
    "BEST {kw} {year} !!! {kw} {kw} {kw}",
)
SPAM_SENTENCES = (
    "Buy {kw} online at the best price. {kw} {kw} cheap {kw} discount {kw}.",
    "{Brand} offers {kw}, {kw2} and {kw3}. Best {kw} best {kw} best {kw} online now!!!",
    "Looking for {kw}? {kw} is here. Cheap {kw} with free shipping. Order {kw} today.",
    "Top {kw} {year} - {kw} reviews - {kw} coupon - {kw} promo code - {kw} near me.",
    "{kw} {kw2} {kw3} {kw} {kw2} {kw3} {kw} {kw2} {kw3}.",
    "Click here for {kw}. Click here for {kw2}. Click here for {kw3}.",
)
SPAM_FILLER = (
    "We are the number one provider on the internet.",
    "Satisfaction guaranteed or your money back.",
    "Join thousands of happy customers today.",
    "Limited offer, only today!",
)
