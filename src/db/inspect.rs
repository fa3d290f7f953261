//! Row counts of every table in the current schema, for `db status`.

use deadpool_postgres::GenericClient;

/// Exact row counts per table of the current schema, by table name. The count query is built
/// by the server (`format('%I')` quotes the catalog's own names), so no SQL text is assembled
/// here.
pub(crate) async fn table_counts(
    client: &impl GenericClient,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.relname::text,
                    (xpath('/row/n/text()',
                           query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                                        false, true, '')))[1]::text::bigint
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
             ORDER BY 1",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
