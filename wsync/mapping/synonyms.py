"""The column names wholesalers use for each field, in English, German, French, Spanish, Italian,
Dutch and Polish: the one table both the automatic mapping (`FieldMapper.automatic`) and
`wsync feed suggest` read.

Names are written as people write them; `normalise()` folds case, accents and punctuation
("Größe", "GROESSE", "grösse" all become "grosse"), and the lookups compare normalised forms.
Within a field, earlier names win when a header has several. `AUTOMATIC` is the set of
fields a feed without a mapping table takes by name alone; the others (the group, the GTIN,
sale dates) are proposed by `wsync feed suggest`, which also checks the values.
"""

from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl")

# field -> language -> names. A name may appear under several languages ("stock").
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sku": {
        "en": ("sku", "article number", "article no", "art no", "item number", "item no", "item code", "product code",
               "product number", "part number", "part no", "reference", "ref", "variant sku", "code", "mpn"),
        "de": ("artikelnummer", "artikel-nr", "art-nr", "artnr", "artikelnr", "art.-nr.", "bestellnummer",
               "artikelcode", "lieferantenartikelnummer"),
        "fr": ("référence", "réf", "ref article", "code article", "numéro d'article", "référence article",
               "référence produit"),
        "es": ("referencia", "código", "código de artículo", "código artículo", "número de artículo", "ref."),
        "it": ("codice", "codice articolo", "cod. articolo", "riferimento", "codice prodotto"),
        "nl": ("artikelnummer", "artikelcode", "productcode", "artikelnr"),
        "pl": ("kod", "kod produktu", "indeks", "symbol", "numer katalogowy", "kod towaru"),
    },
    "parent": {
        "en": ("parent", "parent sku", "parent id", "parent reference"),
        "de": ("vaterartikel", "hauptartikel", "elternartikel"),
        "fr": ("référence parent", "parent"),
        "es": ("referencia padre", "padre"),
        "it": ("articolo padre", "codice padre"),
        "nl": ("hoofdartikel", "ouderartikel"),
        "pl": ("produkt nadrzędny", "kod nadrzędny"),
    },
    "group": {
        "en": ("family", "product family", "model", "model code", "model number", "style", "style number",
               "style code", "item group id", "group", "group id", "master sku"),
        "de": ("modell", "modellnummer", "familie", "artikelfamilie", "stammartikel", "stammnummer", "serie"),
        "fr": ("modèle", "famille", "code modèle", "gamme"),
        "es": ("modelo", "familia", "código modelo"),
        "it": ("modello", "famiglia", "codice modello"),
        "nl": ("model", "familie", "productfamilie", "modelcode"),
        "pl": ("model", "rodzina", "seria", "kod modelu"),
    },
    "parent_name": {
        "en": ("family name", "model name", "product family name", "style name", "parent name"),
        "de": ("modellname", "modellbezeichnung", "familienname", "familienbezeichnung"),
        "fr": ("nom du modèle", "nom modèle", "nom de la famille"),
        "es": ("nombre del modelo", "nombre modelo", "nombre de la familia"),
        "it": ("nome modello", "nome del modello", "nome famiglia"),
        "nl": ("modelnaam", "familienaam"),
        "pl": ("nazwa modelu", "nazwa rodziny"),
    },
    "name": {
        "en": ("name", "title", "product name", "product title", "item name", "article name", "product"),
        "de": ("bezeichnung", "artikelbezeichnung", "produktname", "artikelname", "titel", "produktbezeichnung"),
        "fr": ("nom", "désignation", "libellé", "nom du produit", "nom produit", "titre"),
        "es": ("nombre", "título", "nombre del producto", "nombre producto", "denominación"),
        "it": ("nome", "titolo", "denominazione", "nome prodotto", "nome articolo"),
        "nl": ("naam", "productnaam", "artikelnaam", "titel"),
        "pl": ("nazwa", "nazwa produktu", "tytuł", "nazwa towaru"),
    },
    "description": {
        "en": ("description", "long description", "body html", "details", "product description"),
        "de": ("beschreibung", "langtext", "artikelbeschreibung", "produktbeschreibung", "langbeschreibung"),
        "fr": ("description", "description longue", "descriptif"),
        "es": ("descripción", "descripción larga"),
        "it": ("descrizione", "descrizione lunga"),
        "nl": ("omschrijving", "beschrijving", "productomschrijving"),
        "pl": ("opis", "opis produktu", "opis długi"),
    },
    "short_description": {
        "en": ("short description", "summary"),
        "de": ("kurzbeschreibung", "kurztext"),
        "fr": ("description courte", "résumé"),
        "es": ("descripción corta", "resumen"),
        "it": ("descrizione breve", "riassunto"),
        "nl": ("korte omschrijving", "korte beschrijving"),
        "pl": ("krótki opis", "opis krótki"),
    },
    "regular_price": {
        "en": ("regular price", "price", "retail price", "rrp", "msrp", "list price", "selling price", "retail"),
        "de": ("preis", "vk", "vk-preis", "vk preis", "verkaufspreis", "uvp", "listenpreis", "endkundenpreis"),
        "fr": ("prix", "prix de vente", "prix public", "pvc", "prix ttc", "prix conseillé"),
        "es": ("precio", "pvp", "precio de venta", "precio venta", "precio recomendado"),
        "it": ("prezzo", "prezzo di vendita", "prezzo al pubblico", "prezzo consigliato"),
        "nl": ("prijs", "verkoopprijs", "adviesprijs", "consumentenprijs"),
        "pl": ("cena", "cena detaliczna", "cena sprzedaży", "cena brutto"),
    },
    "sale_price": {
        "en": ("sale price", "special price", "offer price", "promo price"),
        "de": ("sonderpreis", "aktionspreis", "angebotspreis"),
        "fr": ("prix promo", "prix soldé", "prix promotionnel"),
        "es": ("precio oferta", "precio rebajado", "precio promocional"),
        "it": ("prezzo scontato", "prezzo promozionale", "prezzo offerta"),
        "nl": ("actieprijs", "aanbiedingsprijs"),
        "pl": ("cena promocyjna", "cena wyprzedażowa"),
    },
    "cost": {
        "en": ("cost", "cost price", "wholesale price", "purchase price", "net price", "buying price",
               "dealer price", "trade price", "wholesale"),
        "de": ("ek", "ek-preis", "ek preis", "ek netto", "einkaufspreis", "händlerpreis", "nettopreis", "hek"),
        "fr": ("prix d'achat", "prix de gros", "coût", "prix revendeur", "prix achat"),
        "es": ("precio de coste", "coste", "precio de compra", "precio mayorista", "precio distribuidor"),
        "it": ("prezzo d'acquisto", "costo", "prezzo all'ingrosso", "prezzo rivenditore", "prezzo acquisto"),
        "nl": ("inkoopprijs", "kostprijs", "groothandelsprijs"),
        "pl": ("cena zakupu", "cena hurtowa", "koszt"),
    },
    "stock_quantity": {
        "en": ("stock", "stock quantity", "quantity", "qty", "inventory", "on hand", "available quantity",
               "stock qty"),
        "de": ("bestand", "lagerbestand", "menge", "lager", "verfügbare menge"),
        "fr": ("stock", "quantité", "qté", "quantité disponible", "quantité en stock"),
        "es": ("stock", "existencias", "cantidad", "inventario", "unidades"),
        "it": ("giacenza", "quantità", "magazzino", "scorte"),
        "nl": ("voorraad", "aantal", "op voorraad aantal"),
        "pl": ("stan", "stan magazynowy", "ilość", "magazyn"),
    },
    "stock_status": {
        "en": ("stock status", "availability", "in stock", "available"),
        "de": ("verfügbarkeit", "lieferbar", "lieferstatus", "verfügbar"),
        "fr": ("disponibilité", "en stock", "disponible"),
        "es": ("disponibilidad", "disponible", "en stock"),
        "it": ("disponibilità", "disponibile"),
        "nl": ("beschikbaarheid", "op voorraad", "leverbaar"),
        "pl": ("dostępność", "dostępny"),
    },
    "gtin": {
        "en": ("ean", "gtin", "upc", "barcode", "ean13", "ean code", "isbn", "gtin13"),
        "de": ("ean-code", "strichcode", "ean nummer"),
        "fr": ("code-barres", "code barre", "code ean"),
        "es": ("código de barras", "código ean"),
        "it": ("codice a barre", "codice ean"),
        "nl": ("streepjescode", "barcode"),
        "pl": ("kod kreskowy", "kod ean"),
    },
    "weight": {
        "en": ("weight", "weight kg", "weight (kg)"),
        "de": ("gewicht", "gewicht kg"),
        "fr": ("poids", "poids kg"),
        "es": ("peso", "peso kg"),
        "it": ("peso",),
        "nl": ("gewicht",),
        "pl": ("waga", "waga kg"),
    },
    "length": {"en": ("length", "length cm"), "de": ("länge",), "fr": ("longueur",), "es": ("longitud", "largo"),
               "it": ("lunghezza",), "nl": ("lengte",), "pl": ("długość",)},
    "width": {"en": ("width", "width cm"), "de": ("breite",), "fr": ("largeur",), "es": ("anchura", "ancho"),
              "it": ("larghezza",), "nl": ("breedte",), "pl": ("szerokość",)},
    "height": {"en": ("height", "height cm"), "de": ("höhe",), "fr": ("hauteur",), "es": ("altura", "alto"),
               "it": ("altezza",), "nl": ("hoogte",), "pl": ("wysokość",)},
    "brand": {
        "en": ("brand", "manufacturer", "vendor", "make"),
        "de": ("marke", "hersteller"),
        "fr": ("marque", "fabricant"),
        "es": ("marca", "fabricante"),
        "it": ("marca", "produttore", "marchio"),
        "nl": ("merk", "fabrikant"),
        "pl": ("marka", "producent"),
    },
    "categories": {
        "en": ("category", "categories", "product type", "category path"),
        "de": ("kategorie", "kategorien", "warengruppe", "rubrik"),
        "fr": ("catégorie", "catégories", "rayon"),
        "es": ("categoría", "categorías"),
        "it": ("categoria", "categorie"),
        "nl": ("categorie", "categorieën", "productgroep"),
        "pl": ("kategoria", "kategorie"),
    },
    "tags": {
        "en": ("tags", "keywords"),
        "de": ("schlagworte", "stichwörter", "schlüsselwörter"),
        "fr": ("mots-clés", "étiquettes"),
        "es": ("etiquetas", "palabras clave"),
        "it": ("parole chiave", "etichette"),
        "nl": ("trefwoorden", "labels"),
        "pl": ("tagi", "słowa kluczowe"),
    },
    "images": {
        "en": ("image", "images", "image url", "image urls", "image link", "picture", "pictures", "photo",
               "photos", "image src"),
        "de": ("bild", "bilder", "bild-url", "bildurl", "bildlink", "foto", "fotos"),
        "fr": ("image", "images", "url image", "photo", "photos"),
        "es": ("imagen", "imágenes", "foto", "fotos", "url imagen"),
        "it": ("immagine", "immagini", "foto", "url immagine"),
        "nl": ("afbeelding", "afbeeldingen", "foto", "foto's"),
        "pl": ("zdjęcie", "zdjęcia", "obraz", "obrazy"),
    },
    "date_on_sale_from": {
        "en": ("sale from", "sale start", "offer start", "promo start", "sale price dates from"),
        "de": ("aktion von", "angebot von", "aktionsbeginn", "sonderpreis von"),
        "fr": ("promo début", "début promotion", "promo du"),
        "es": ("oferta desde", "inicio oferta"),
        "it": ("inizio promozione", "offerta dal"),
        "nl": ("actie vanaf", "aanbieding vanaf"),
        "pl": ("promocja od",),
    },
    "date_on_sale_to": {
        "en": ("sale to", "sale end", "offer end", "promo end", "sale price dates to"),
        "de": ("aktion bis", "angebot bis", "aktionsende", "sonderpreis bis"),
        "fr": ("promo fin", "fin promotion", "promo au"),
        "es": ("oferta hasta", "fin oferta"),
        "it": ("fine promozione", "offerta fino al"),
        "nl": ("actie tot", "aanbieding tot"),
        "pl": ("promocja do",),
    },
}

# Attribute columns: the attribute's name in the store -> its names in the feeds.
ATTRIBUTES: dict[str, dict[str, tuple[str, ...]]] = {
    "Color": {"en": ("color", "colour"), "de": ("farbe",), "fr": ("couleur", "coloris"), "es": ("color",),
              "it": ("colore",), "nl": ("kleur",), "pl": ("kolor",)},
    "Size": {"en": ("size",), "de": ("größe", "grösse", "groesse", "konfektionsgröße"), "fr": ("taille", "pointure"),
             "es": ("talla", "tamaño"), "it": ("taglia", "misura"), "nl": ("maat",), "pl": ("rozmiar",)},
    "Material": {"en": ("material",), "de": ("material",), "fr": ("matière",), "es": ("material",),
                 "it": ("materiale",), "nl": ("materiaal",), "pl": ("materiał",)},
}

# The fields a feed without a mapping table takes by column name alone (the mapping wsync has
# always guessed, and sale dates); suggest proposes the rest after checking the values.
AUTOMATIC = ("sku", "parent", "name", "description", "short_description", "regular_price", "sale_price", "cost",
             "stock_quantity", "stock_status", "weight", "length", "width", "height", "brand", "categories", "tags",
             "images", "date_on_sale_from", "date_on_sale_to")

_FOLD = str.maketrans({"ß": "ss", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe",
                       "Œ": "oe", "đ": "d", "Đ": "d"})


def normalise(name: str) -> str:
    """A column name folded for comparison: lower case, no accents, letters and digits only."""
    text = unicodedata.normalize("NFKD", name.translate(_FOLD).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text)


def _index(table: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for key, by_language in table.items():
        seen: dict[str, str] = {}
        for language in LANGUAGES:
            for name in by_language.get(language, ()):
                seen.setdefault(normalise(name), language)
        out[key] = tuple(seen.items())
    return out


# field -> ((normalised name, language), ...), in order of preference.
NAMES = _index(FIELDS)
ATTRIBUTE_NAMES = _index(ATTRIBUTES)


def field_for(column: str) -> list[tuple[str, str, str]]:
    """(field, language, how) for every field whose names match `column`: how is "exact" or
    "part" (a name of 4+ letters inside the column's, as "EK-Preis netto" holds "ekpreis")."""
    norm = normalise(column)
    # A unit or currency in brackets names no field: "EK (EUR)" is "EK", "Gewicht (g)" is "Gewicht".
    bare = normalise(re.sub(r"\s*\([^)]*\)\s*$", "", column)) or norm
    out: list[tuple[str, str, str]] = []
    if not norm:
        return out
    for fieldname, names in NAMES.items():
        exact = next((lang for n, lang in names if n in (norm, bare)), None)
        if exact:
            out.append((fieldname, exact, "exact"))
            continue
        part = next((lang for n, lang in names if len(n) >= 4 and n in norm), None)
        if part:
            out.append((fieldname, part, "part"))
    return out


def attribute_for(column: str) -> str | None:
    """The store's attribute name for a column named like one (Farbe -> Color), else None."""
    norm = normalise(column)
    for attribute, names in ATTRIBUTE_NAMES.items():
        if any(n == norm for n, _ in names):
            return attribute
    return None
