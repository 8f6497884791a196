-- 通报 (docs/departments.md): the units below target in a month of the window W — every row of
-- marts.unit_indicator_scorecard that did not meet its target — with the numbers behind it and,
-- for the ratio indicators, how many records were missing for the target (shortfall: the records
-- the unit would have needed to report / deliver without problems / report in time).
select
    s.as_of,
    s.month,
    s.unit,
    s.unit_uscc,
    s.indicator_id,
    s.indicator_name,
    s.numerator,
    s.denominator,
    s.value,
    s.target,
    s.comparator,
    case when s.comparator in ('>=', '>') and s.value is not null
         then ceil(s.target * s.denominator - s.numerator)::bigint end as shortfall,
    s.note
from {{ ref('unit_indicator_scorecard') }} as s
where s.passed = false
