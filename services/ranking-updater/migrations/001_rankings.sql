-- ranking-updater owns sales counters and the sold-out ranking, both answered from
-- indexes that match the ranking order exactly. Product ids compare bytewise
-- (COLLATE "C"), as the ranking rules' tie-break does in C++ (ranking_rules.hpp),
-- whatever the database's default collation.

-- All-time sales per product.
CREATE TABLE product_sales (
    product_id text COLLATE "C" PRIMARY KEY,
    units      bigint      NOT NULL CHECK (units >= 0),
    orders     bigint      NOT NULL CHECK (orders >= 0),
    revenue    bigint      NOT NULL CHECK (revenue >= 0),  -- minor units
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_sales_rank_idx ON product_sales (units DESC, product_id);

-- Sales per product per local day (PAYPIPE_RANKING_TIME_ZONE) of the order's completion.
CREATE TABLE product_sales_daily (
    day        date        NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    units      bigint      NOT NULL CHECK (units >= 0),
    orders     bigint      NOT NULL CHECK (orders >= 0),
    revenue    bigint      NOT NULL CHECK (revenue >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, product_id)
);
CREATE INDEX product_sales_daily_rank_idx ON product_sales_daily (day, units DESC, product_id);

-- One row per sale that sold out: a product and the moment its sale opened.
CREATE TABLE sold_out_sales (
    product_id    text COLLATE "C" NOT NULL,
    name          text,
    total_stock   bigint      NOT NULL CHECK (total_stock >= 0),
    sale_opens_at timestamptz NOT NULL,
    sold_out_at   timestamptz NOT NULL,
    sell_out_ms   bigint      NOT NULL CHECK (sell_out_ms >= 0),  -- sold_out_at - sale_opens_at, at least 0
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, sale_opens_at)
);
CREATE INDEX sold_out_sales_rank_idx ON sold_out_sales (sell_out_ms, sold_out_at, product_id);
