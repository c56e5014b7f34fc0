"""The FAQ the desk starts with: one article per topic the support team answers again and again, in
Catalan, Spanish and English, written from the service's documents (Decidim 0.28)."""
from __future__ import annotations

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.kb.models import Article
from helpdesk.kb.services import ArticleData, save_article

# (slug, category, tags, {language: (title, Markdown body)})
ARTICLES = [
    ("logotip-i-adreca", "platform", ["logotip", "url", "adreça", "domini"], {
        "ca": ("Com canvio el logotip o l'adreça de la plataforma?", """\
**El logotip** el canvien els administradors de la plataforma, sense passar per suport:

1. Entreu al tauler d'administració (`/admin`).
2. Aneu a **Configuració → Aparença**.
3. Pugeu el logotip (i, si cal, la icona del web) i deseu.

**L'adreça** (per exemple `participa.vic.diba.cat`) identifica la vostra organització dins de la
instal·lació, de manera que no la podeu canviar vosaltres: escriviu a suport amb l'adreça nova que
voleu. Totes les adreces sota `diba.cat` funcionen amb HTTPS. Us direm quan es farà el canvi;
després caldrà actualitzar els enllaços que tingueu publicats."""),
        "es": ("¿Cómo cambio el logotipo o la dirección de la plataforma?", """\
**El logotipo** lo cambian los administradores de la plataforma, sin pasar por soporte:

1. Entrad en el panel de administración (`/admin`).
2. Id a **Configuración → Apariencia**.
3. Subid el logotipo (y, si hace falta, el icono del sitio) y guardad.

**La dirección** (por ejemplo `participa.vic.diba.cat`) identifica vuestra organización dentro de la
instalación, así que no podéis cambiarla vosotros: escribid a soporte con la dirección nueva.
Todas las direcciones bajo `diba.cat` funcionan con HTTPS. Os diremos cuándo se hará el cambio;
después habrá que actualizar los enlaces publicados."""),
        "en": ("How do I change the platform's logo or address?", """\
**The logo** is changed by the platform's administrators, without going through support:

1. Go to the administration dashboard (`/admin`).
2. Go to **Settings → Appearance**.
3. Upload the logo (and, if needed, the site icon) and save.

**The address** (for example `participa.vic.diba.cat`) identifies your organisation within the
installation, so you cannot change it yourselves: write to support with the new address you want.
Every address under `diba.cat` works with HTTPS. We will tell you when the change will be made;
afterwards you will need to update the links you have published."""),
    }),
    ("versions-i-moduls", "platform", ["versió", "mòduls", "decidim", "components"], {
        "ca": ("Quina versió de Decidim tenim i quins mòduls podem fer servir?", """\
Participa311 és una instància de **Decidim 0.28.5**. La Diputació l'actualitza a mesura que surten
versions noves; us avisem abans de cada actualització.

Dins de cada espai participatiu (processos, assemblees) podeu afegir components des del tauler
d'administració: **propostes, trobades, enquestes, pressupostos, rendició de comptes, pàgines, blog,
debats i sortejos**. Si necessiteu un mòdul que no veieu (per exemple conferències o iniciatives
ciutadanes), demaneu-lo a suport: s'instal·la per a tota la plataforma."""),
        "es": ("¿Qué versión de Decidim tenemos y qué módulos podemos usar?", """\
Participa311 es una instancia de **Decidim 0.28.5**. La Diputación la actualiza a medida que salen
versiones nuevas; os avisamos antes de cada actualización.

Dentro de cada espacio participativo (procesos, asambleas) podéis añadir componentes desde el panel
de administración: **propuestas, encuentros, encuestas, presupuestos, rendición de cuentas, páginas,
blog, debates y sorteos**. Si necesitáis un módulo que no veis (por ejemplo conferencias o
iniciativas ciudadanas), pedidlo a soporte: se instala para toda la plataforma."""),
        "en": ("Which version of Decidim do we have and which modules can we use?", """\
Participa311 is an instance of **Decidim 0.28.5**. The Diputació de Barcelona upgrades it as new
versions come out; we let you know before each upgrade.

Within each participatory space (processes, assemblies) you can add components from the administration
dashboard: **proposals, meetings, surveys, budgets, accountability, pages, blog, debates and
sortitions**. If you need a module you cannot see (for example conferences or citizen initiatives),
ask support for it: it is installed for the whole platform."""),
    }),
    ("renovar-la-sollicitud", "service", ["renovació", "catàleg", "concessió"], {
        "ca": ("Com renovem la plataforma?", """\
La plataforma s'obté pel **Catàleg de Serveis** de la Diputació i la concessió dura **dos anys**.
Per continuar-la cal renovar-la:

- La renovació s'obre **90 dies abans** que acabi la concessió. Us n'enviem avisos als 90, 30 i 7 dies.
- Des del servei de suport, a **Catàleg de Serveis**, feu clic a **Renova**: el formulari ja porta el
  projecte i el referent tècnic; confirmeu-los o actualitzeu-los.
- Si s'aprova, la concessió s'allarga dos anys més a partir del final de l'anterior.

Si no es renova, la plataforma continua disponible **30 dies** més i després caduca."""),
        "es": ("¿Cómo renovamos la plataforma?", """\
La plataforma se obtiene por el **Catálogo de Servicios** de la Diputación y la concesión dura
**dos años**. Para continuarla hay que renovarla:

- La renovación se abre **90 días antes** de que termine la concesión. Os enviamos avisos a los 90, 30 y 7 días.
- Desde el servicio de soporte, en **Catálogo de Servicios**, pulsad **Renovar**: el formulario ya trae
  el proyecto y el referente técnico; confirmadlos o actualizadlos.
- Si se aprueba, la concesión se alarga dos años más a partir del final de la anterior.

Si no se renueva, la plataforma sigue disponible **30 días** más y después caduca."""),
        "en": ("How do we renew the platform?", """\
The platform is obtained through the Diputació de Barcelona's **Service Catalogue** and the grant lasts
**two years**. To keep it, it has to be renewed:

- Renewal opens **90 days before** the grant ends. We send you reminders at 90, 30 and 7 days.
- In the support service, under **Service Catalogue**, click **Renew**: the project and the technical
  referent are already filled in; confirm them or update them.
- If it is approved, the grant is extended by two more years from the end of the previous one.

If it is not renewed, the platform remains available for **30 more days** and then expires."""),
    }),
    ("administrar-la-plataforma", "administration", ["administració", "permisos", "administradors"], {
        "ca": ("Qui administra la plataforma i com donem permisos?", """\
Cada ajuntament té un **referent tècnic municipal** que gestiona la plataforma. Des del tauler
d'administració (`/admin`) podeu:

- convidar altres administradors a **Participants → Administradors**;
- donar rols dins d'un espai concret (administrador de l'espai, col·laborador, moderador, avaluador)
  des de la pestanya de membres o rols de l'espai;
- crear i publicar processos, assemblees i els seus components.

Si el referent tècnic canvia, digueu-nos-ho perquè l'actualitzem a la vostra fitxa."""),
        "es": ("¿Quién administra la plataforma y cómo damos permisos?", """\
Cada ayuntamiento tiene un **referente técnico municipal** que gestiona la plataforma. Desde el panel
de administración (`/admin`) podéis:

- invitar a otros administradores en **Participantes → Administradores**;
- dar roles dentro de un espacio concreto (administrador del espacio, colaborador, moderador,
  evaluador) desde la pestaña de miembros o roles del espacio;
- crear y publicar procesos, asambleas y sus componentes.

Si el referente técnico cambia, decídnoslo para actualizarlo en vuestra ficha."""),
        "en": ("Who administers the platform and how do we give permissions?", """\
Each council has a **municipal technical referent** who manages the platform. From the administration
dashboard (`/admin`) you can:

- invite other administrators under **Participants → Admins**;
- give roles within a specific space (space administrator, collaborator, moderator, valuator)
  from the space's members or roles tab;
- create and publish processes, assemblies and their components.

If the technical referent changes, let us know so that we can update it in your council's record."""),
    }),
    ("menors-de-14-anys", "participation", ["menors", "edat", "escoles", "dades"], {
        "ca": ("Poden participar-hi menors de 14 anys?", """\
Per registrar-se a la plataforma cal acceptar-ne les condicions d'ús, i la normativa de protecció de
dades fixa en **14 anys** l'edat per donar el consentiment pel propi compte. Per sota d'aquesta edat cal
el consentiment del pare, la mare o el tutor legal.

Per a processos amb infants (per exemple a les escoles) recomanem recollir les aportacions en
sessions presencials i que l'ajuntament les publiqui a la plataforma, en lloc que els infants s'hi
registrin. Si voleu plantejar-ho d'una altra manera, demaneu-nos acompanyament."""),
        "es": ("¿Pueden participar menores de 14 años?", """\
Para registrarse en la plataforma hay que aceptar sus condiciones de uso, y la normativa de
protección de datos fija en **14 años** la edad para dar el consentimiento por cuenta propia. Por
debajo de esa edad hace falta el consentimiento del padre, la madre o el tutor legal.

Para procesos con niños (por ejemplo en las escuelas) recomendamos recoger las aportaciones en
sesiones presenciales y que el ayuntamiento las publique en la plataforma, en lugar de que los niños
se registren. Si queréis plantearlo de otra manera, pedidnos acompañamiento."""),
        "en": ("Can children under 14 take part?", """\
To register on the platform you have to accept its terms of use, and data protection law sets
**14 years** as the age at which people can give consent on their own behalf. Below that age, the
consent of a parent or legal guardian is needed.

For processes with children (for example in schools) we recommend collecting their contributions in
face-to-face sessions and having the council publish them on the platform, instead of the children
registering. If you want to approach it differently, ask us for accompaniment."""),
    }),
    ("registre-obligatori", "participation", ["registre", "verificació", "accés"], {
        "ca": ("Es pot obligar a registrar-se per veure la plataforma o per votar?", """\
Per **consultar** la plataforma no cal registrar-se; per **participar** (fer propostes, comentar,
votar) sí.

- Per exigir que la gent **verifiqui** qui és abans de votar o proposar (per exemple, que estigui
  empadronada), configureu els **permisos** del component des del tauler d'administració i trieu el
  mètode de verificació.
- Tancar **tota** la plataforma perquè només s'hi pugui entrar amb sessió iniciada és una opció de
  l'organització: demaneu-la a suport, perquè també deixa de ser pública la informació dels processos."""),
        "es": ("¿Se puede obligar a registrarse para ver la plataforma o para votar?", """\
Para **consultar** la plataforma no hace falta registrarse; para **participar** (hacer propuestas,
comentar, votar) sí.

- Para exigir que la gente **verifique** quién es antes de votar o proponer (por ejemplo, que esté
  empadronada), configurad los **permisos** del componente desde el panel de administración y elegid
  el método de verificación.
- Cerrar **toda** la plataforma para que solo se pueda entrar con sesión iniciada es una opción de la
  organización: pedidla a soporte, porque también deja de ser pública la información de los procesos."""),
        "en": ("Can people be required to register to view the platform or to vote?", """\
You do not need to register to **browse** the platform; to **take part** (make proposals, comment,
vote) you do.

- To require people to **verify** who they are before voting or proposing (for example, that they are
  on the municipal register of residents), configure the component's **permissions** from the
  administration dashboard and choose the verification method.
- Closing the **whole** platform so that it can only be entered when signed in is a setting of the
  organisation: ask support for it, because it also makes the information about the processes no
  longer public."""),
    }),
    ("codi-etic-i-contracte-social", "service", ["codi ètic", "contracte social", "requisits"], {
        "ca": ("Què és el codi ètic i el contracte social?", """\
Participa311 és programari lliure (Decidim). Per fer-lo servir, cada ajuntament accepta el **codi
ètic i el contracte social** de la plataforma, que el comprometen amb la transparència, la
traçabilitat dels processos, la protecció de les dades de les persones participants i la qualitat
democràtica de la participació.

S'accepta en presentar la sol·licitud al Catàleg de Serveis, juntament amb els dos requisits de la
concessió: un **projecte associat** a la plataforma i un **referent tècnic municipal**."""),
        "es": ("¿Qué es el código ético y el contrato social?", """\
Participa311 es software libre (Decidim). Para usarlo, cada ayuntamiento acepta el **código ético y
el contrato social** de la plataforma, que lo comprometen con la transparencia, la trazabilidad de
los procesos, la protección de los datos de las personas participantes y la calidad democrática de
la participación.

Se acepta al presentar la solicitud en el Catálogo de Servicios, junto con los dos requisitos de la
concesión: un **proyecto asociado** a la plataforma y un **referente técnico municipal**."""),
        "en": ("What are the code of ethics and the social contract?", """\
Participa311 is free software (Decidim). To use it, each council accepts the platform's **code of
ethics and social contract**, which commit it to transparency, the traceability of processes, the
protection of the participants' data and the democratic quality of participation.

It is accepted when the request is submitted to the Service Catalogue, together with the two
requirements for the grant: a **project associated** with the platform and a **municipal technical
referent**."""),
    }),
    ("formacio", "service", ["formació", "acompanyament", "comunitat"], {
        "ca": ("Quina formació i quin acompanyament oferiu?", """\
Amb la plataforma, la Diputació ofereix **assessorament, formació i suport** per telèfon
(934 020 704) i correu (suportparticipa311@diba.cat), de dilluns a divendres de 9 a 14 h i de 15 a 17 h.

- **Formació**: sessions per als equips municipals que administren la plataforma.
- **Acompanyament**: per dur a terme una acció concreta (adaptar-ne el disseny, configurar les
  funcionalitats, fer-ne el seguiment). Es demana des del servei de suport i l'ha d'autoritzar l'OTPGL.
- **Comunitat**: un espai de xarxa per compartir experiències amb altres ajuntaments."""),
        "es": ("¿Qué formación y qué acompañamiento ofrecéis?", """\
Con la plataforma, la Diputación ofrece **asesoramiento, formación y soporte** por teléfono
(934 020 704) y correo (suportparticipa311@diba.cat), de lunes a viernes de 9 a 14 h y de 15 a 17 h.

- **Formación**: sesiones para los equipos municipales que administran la plataforma.
- **Acompañamiento**: para llevar a cabo una acción concreta (adaptar su diseño, configurar las
  funcionalidades, hacer su seguimiento). Se pide desde el servicio de soporte y lo tiene que
  autorizar la OTPGL.
- **Comunidad**: un espacio de red para compartir experiencias con otros ayuntamientos."""),
        "en": ("What training and accompaniment do you offer?", """\
With the platform, the Diputació de Barcelona offers **advice, training and support** by phone
(934 020 704) and e-mail (suportparticipa311@diba.cat), Monday to Friday from 9:00 to 14:00 and
from 15:00 to 17:00.

- **Training**: sessions for the council teams that administer the platform.
- **Accompaniment**: to carry out a specific action (adapting its design, configuring the features it
  needs, following it up). It is requested from the support service and must be authorised by the OTPGL.
- **Community**: a networking space to share experiences with other councils."""),
    }),
]


def seed_articles() -> int:
    """Add the articles that are missing (by slug), and to those already there the language versions they lack;
    flush, never commit. How many articles were added."""
    added = 0
    for slug, category, tags, texts in ARTICLES:
        article = db.session.scalar(select(Article).where(Article.slug == slug))
        if article is None:
            save_article(None, ArticleData(slug=slug, category=category, tags=tags, is_public=True,
                                           is_published=True, texts=dict(texts)))
            added += 1
            continue
        # An article already there keeps everything the team made of it (settings, edited versions); only the
        # languages it has no version in are added, through the same path as an edit (kept, indexed, audited).
        kept = {item.language: (item.title, item.body) for item in article.translations}
        missing = {language: pair for language, pair in texts.items() if language not in kept}
        if missing:
            save_article(None, ArticleData(slug=article.slug, category=article.category, tags=list(article.tags),
                                           is_public=article.is_public, is_published=article.is_published,
                                           reviewed_on=article.reviewed_on, texts={**kept, **missing}), article)
    return added
