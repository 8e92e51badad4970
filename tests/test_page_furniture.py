"""Page furniture that is never the article (issue 18: precision on foreign pages), on pages built for the test:
a contact or sign-up form's labels and messages, a picture credit at the end of its caption, a cookie notice in the
site's own voice. And what must stay: a page wrapped whole in one form (ASP.NET), a caption without its credit, an
article that is about cookies."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from news_harvester.parse.article import extract_page
from news_harvester.parse.clean import drop_boilerplate

BERLIN = ZoneInfo("Europe/Berlin")
STORY = (
    "<p>Die Bundesregierung hat am Dienstag neue Regeln für den digitalen Handel mit Dienstleistungen beschlossen. "
    "Unternehmen sollen Daten künftig leichter über Grenzen hinweg austauschen können, sagte die Ministerin.</p>"
    "<p>Die Wirtschaftsverbände begrüßten die Entscheidung und forderten eine rasche Umsetzung in der Praxis, "
    "damit kleine und mittlere Unternehmen von den neuen Möglichkeiten profitieren können.</p>"
)


def body(html: str) -> str:
    return extract_page(html, "https://example.de/news/handel.html", BERLIN).body_text


def page(inner: str) -> str:
    return f"<html><head><title>Handel</title></head><body><article><h1>Neue Regeln</h1>{inner}</article></body></html>"


def test_a_contact_form_is_not_text_but_a_page_wrapped_in_one_form_is_read():
    contact = (
        "<form method='post'><div>Die Nachricht wurde erfolgreich verschickt! Vielen Dank!</div>"
        "<label>Name:</label><input name='n'><label>E-Mail:</label><input type='email' name='e'>"
        "<textarea name='t'></textarea><button>Senden</button></form>"
    )
    text = body(page(STORY + contact))
    assert "Bundesregierung" in text and "Wirtschaftsverbände" in text
    assert "verschickt" not in text and "Name:" not in text

    aspnet = (
        "<html><body><form id='form1' method='post' action='./Default.aspx'>"
        "<input type='hidden' name='__VIEWSTATE' value='x'><input type='text' name='q'>"
        f"<article><h1>Neue Regeln</h1>{STORY * 3}</article></form></body></html>"
    )
    assert "Bundesregierung" in body(aspnet)


def test_a_picture_credit_leaves_its_caption_and_a_credit_glued_to_it_goes_too():
    captions = (
        "<figure><img src='a.jpg'><figcaption>Helfer versorgen die Betroffenen mit Essen und Getränken. "
        "Foto: Max Muster/Verband</figcaption></figure>"
        "<figure><img src='b.jpg'><figcaption>Die Ministerin nach der Sitzung mit dem Staatssekretär."
        "<span>dpa / Kay Muster</span></figcaption></figure>"
    )
    text = body(page(STORY + captions))
    assert "Helfer versorgen die Betroffenen mit Essen und Getränken." in text
    assert "Die Ministerin nach der Sitzung mit dem Staatssekretär." in text
    assert "Max Muster" not in text and "Kay Muster" not in text
    # a web address in the text is no credit, nor is a fraction
    kept = ["Die vollständigen Zahlen stehen auf destatis.de / Startseite", "Das Verhältnis liegt bei 3 / 4."]
    assert drop_boilerplate(kept) == kept


def test_a_cookie_notice_goes_but_an_article_about_cookies_stays():
    notice = (
        "<div><p>Wir verwenden Cookies, die unser Angebot nutzerfreundlicher und sicherer machen.</p>"
        "<p>Durch die Nutzung unserer Dienste stimmen Sie der Verwendung von Cookies zu.</p></div>"
    )
    text = body(page(STORY + notice))
    assert "Bundesregierung" in text and "Cookies" not in text

    about = (
        "<p>The supervisor found that the website of the agency set tracking cookies before visitors consented, "
        "and that its banner did not explain how the cookies were used or for how long they were kept.</p>"
        "<p>The agency must now obtain valid consent before any cookies are placed on a visitor's device, the "
        "decision says, and it has three months to change its website.</p>"
    )
    english = extract_page(page(about), "https://example.eu/news/cookies.html", ZoneInfo("UTC")).body_text
    assert "tracking cookies before visitors consented" in english and "valid consent" in english
