-- Refunds subtract from the rankings, once, and rankings per event date (issue 16 items 2 and 5).

-- Where each order stands in the sales counters (ranking_rules.hpp: tally_orders). A
-- row is taken (inserted if missing, then locked) before an order's completion or
-- refund is counted, so replicas reading order.completed and order.refunded on
-- different partitions count each order once, and a refund read first keeps its
-- completion out. state NULL: a row just taken, neither counted nor refunded yet.
-- Orders counted before this table existed are not in it: their refunds subtract nothing.
CREATE TABLE ranked_orders (
    order_id      uuid        PRIMARY KEY,
    state         text        CHECK (state IN ('COUNTED', 'REFUNDED')),
    completed_day date,       -- COUNTED: the local day its completion was counted on
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Sales per product per event date (products that are tickets for a dated event).
CREATE TABLE product_sales_by_event_date (
    event_date date        NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    units      bigint      NOT NULL CHECK (units >= 0),
    orders     bigint      NOT NULL CHECK (orders >= 0),
    revenue    bigint      NOT NULL CHECK (revenue >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, product_id)
);
CREATE INDEX product_sales_by_event_date_rank_idx ON product_sales_by_event_date (event_date, units DESC, product_id);

-- The event date of a sale that sold out, when its product has one.
ALTER TABLE sold_out_sales ADD COLUMN event_date date;
CREATE INDEX sold_out_sales_event_date_rank_idx ON sold_out_sales (event_date, sell_out_ms, sold_out_at, product_id)
    WHERE event_date IS NOT NULL;
