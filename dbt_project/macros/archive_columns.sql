{#- The fields a lender sees (docs/spec/DOMAIN.md §7), from an archive row `a`: one list for the export and for
    the profile_hash that int_subject_archive keeps, so the hash is always of what is exported. -#}
{% macro financing_profile_columns(a) -%}
    {{ a }}.uscc,
    {{ a }}.subject_name,
    {{ a }}.subject_type,
    {{ a }}.legal_rep,
    {{ a }}.region_code,
    {{ a }}.industry_code,
    {{ a }}.established_on,
    {{ a }}.registered_capital,
    {{ a }}.credit_grade,
    {{ a }}.credit_score,
    {{ a }}.tax_rating,
    {{ a }}.tax_rating_year,
    {{ a }}.tax_paid_12m,
    coalesce({{ a }}.tax_arrears, 0) as tax_arrears,
    {{ a }}.utility_bills,
    {{ a }}.utility_paid_share,
    {{ a }}.properties,
    {{ a }}.properties_mortgaged,
    {{ a }}.properties_seized,
    {{ a }}.penalties_public,
    {{ a }}.penalties_public_serious > 0 as penalties_public_any_serious,
    {{ a }}.dishonest_active,
    {{ a }}.commitments_unfulfilled
{%- endmacro %}

{#- The columns of marts.subject_archive but as_of, in order, from an int_subject_archive row `a`
    (the mart and the snapshot select them; archive_hash is over exactly these). -#}
{% macro subject_archive_columns(a) -%}
    {%- for column in ['uscc', 'subject_name', 'subject_type', 'legal_rep', 'established_on', 'status', 'closed_on',
                       'region_code', 'industry_code', 'registered_capital', 'is_active_enterprise',
                       'tax_latest_period', 'tax_rating', 'tax_rating_year', 'tax_arrears', 'tax_paid_12m',
                       'tax_major_violation', 'utility_bills', 'utility_months', 'utility_bills_paid_in_full',
                       'utility_paid_share', 'properties', 'properties_mortgaged', 'properties_seized',
                       'penalties_total', 'penalties_public', 'penalties_public_ordinary', 'penalties_public_serious',
                       'dishonest_cases', 'dishonest_active', 'commitments_total', 'commitments_unfulfilled',
                       'points_base', 'points_tax', 'points_utilities', 'points_real_estate', 'points_penalties',
                       'points_dishonest', 'points_commitments', 'credit_score', 'credit_grade',
                       'grade_override_reason'] %}
    {{ a }}.{{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
