{#- Codes as the ingest normalises them (docs/spec/DOMAIN.md §1): trim, full-width → half-width, upper-case.
    Needed for quarantined values, which are kept exactly as received. -#}
{% macro normalise_code(expr) -%}
upper(translate(btrim({{ expr }}, E' \t\r\n\u3000'),
    '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－　',
    '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz- '))
{%- endmacro %}

{#- A natural person's subject key: `p:` + the pseudonym of the identity number, as the ingest
    writes it (include/ingest/codes.py, docs/spec/DOMAIN.md §8). Never a registry code (a USCC has no colon). -#}
{% macro is_person_key(expr) -%}
starts_with({{ expr }}, 'p:')
{%- endmacro %}
