-- A monthly revenue report of the kind analysts run: CTEs, joins, window functions, CASE, aggregates.
WITH params AS (
    SELECT date_trunc('month', now()) - interval '12 months' AS start_at,
           date_trunc('month', now()) AS end_at
),
region_1 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R1'
),
orders_1 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_1 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_2 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R2'
),
orders_2 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_2 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_3 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R3'
),
orders_3 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_3 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_4 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R4'
),
orders_4 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_4 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_5 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R5'
),
orders_5 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_5 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_6 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R6'
),
orders_6 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_6 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_7 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R7'
),
orders_7 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_7 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
region_8 AS (
    SELECT r.id AS region_id, r.name AS region_name, c.id AS customer_id, c.segment,
           coalesce(c.country, 'unknown') AS country, c.created_at AS customer_since
    FROM regions r
    JOIN customers c ON c.region_id = r.id
    WHERE r.active AND c.deleted_at IS NULL AND r.code = 'R8'
),
orders_8 AS (
    SELECT o.id, o.customer_id, o.created_at, o.status,
           sum(li.quantity * li.unit_price) AS gross,
           sum(li.quantity * li.unit_price * coalesce(li.discount, 0)) AS discount,
           count(DISTINCT li.product_id) AS products
    FROM orders o
    JOIN line_items li ON li.order_id = o.id
    JOIN region_8 rc ON rc.customer_id = o.customer_id
    CROSS JOIN params p
    WHERE o.created_at >= p.start_at AND o.created_at < p.end_at
      AND o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY o.id, o.customer_id, o.created_at, o.status
),
all_orders AS (
    SELECT 1 AS region_no, * FROM orders_1
    UNION ALL
    SELECT 2 AS region_no, * FROM orders_2
    UNION ALL
    SELECT 3 AS region_no, * FROM orders_3
    UNION ALL
    SELECT 4 AS region_no, * FROM orders_4
    UNION ALL
    SELECT 5 AS region_no, * FROM orders_5
    UNION ALL
    SELECT 6 AS region_no, * FROM orders_6
    UNION ALL
    SELECT 7 AS region_no, * FROM orders_7
    UNION ALL
    SELECT 8 AS region_no, * FROM orders_8
),
monthly AS (
    SELECT region_no, date_trunc('month', created_at) AS month,
           count(*) AS orders, sum(gross) AS gross, sum(discount) AS discount,
           sum(gross - discount) AS net, avg(products)::numeric(10, 2) AS avg_products,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gross) AS median_order
    FROM all_orders
    GROUP BY region_no, date_trunc('month', created_at)
),
ranked AS (
    SELECT m.*,
           rank() OVER (PARTITION BY month ORDER BY net DESC) AS rank_in_month,
           lag(net) OVER (PARTITION BY region_no ORDER BY month) AS previous_net,
           sum(net) OVER (PARTITION BY region_no ORDER BY month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS rolling_net
    FROM monthly m
)
SELECT region_no,
       to_char(month, 'YYYY-MM') AS month,
       orders,
       round(gross, 2) AS gross,
       round(net, 2) AS net,
       avg_products,
       median_order,
       rank_in_month,
       CASE
           WHEN previous_net IS NULL THEN 'n/a'
           WHEN previous_net = 0 THEN 'n/a'
           WHEN net > previous_net * 1.1 THEN 'growing'
           WHEN net < previous_net * 0.9 THEN 'shrinking'
           ELSE 'flat'
       END AS trend,
       round(100.0 * (net - coalesce(previous_net, net)) / nullif(previous_net, 0), 1) AS change_pct,
       round(rolling_net / 3, 2) AS rolling_avg
FROM ranked
WHERE orders > 0
ORDER BY month DESC, rank_in_month
LIMIT 500;
