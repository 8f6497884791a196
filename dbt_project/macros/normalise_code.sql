{#- Codes as the ingest normalises them (DOMAIN §1): trim, full-width → half-width, upper-case.
    Needed for quarantined values, which are kept exactly as received. -#}
{% macro normalise_code(expr) -%}
upper(translate(btrim({{ expr }}, E' \t\r\n\u3000'),
    '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－　',
    '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz- '))
{%- endmacro %}
