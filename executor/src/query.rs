//! SQL planned over named logical plans, in the run's one DataFusion session.
//!
//! A `sql` step reads the results of other nodes under the names its arguments give them. They
//! are not registered in a catalog: a [`ContextProvider`] of the step's own inputs hands the
//! planner a stand-in table for each, and the planned query's scans of the stand-ins are then
//! replaced by the plans they stand for, so the step and the plans it reads are optimised as
//! one. Planning a step costs a parse and a plan of the step alone (not a session, and not a
//! walk of the possibly long plans it reads, which DataFusion's own inlining of views does),
//! and nothing when the same query was planned over the same schemas before.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableFunctionArgs;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ResolvedTableReference, TableReference, plan_datafusion_err};
use datafusion::config::ConfigOptions;
use datafusion::datasource::cte_worktable::CteWorkTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::planner::{ContextProvider, ExprPlanner, RelationPlanner};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{
    AggregateUDF, Expr, HigherOrderUDF, LogicalPlan, LogicalPlanBuilder, ScalarUDF, TableScan,
    TableSource, WindowUDF,
};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::parser::Statement;
use datafusion::sql::planner::{ParserOptions, SqlToRel};
use datafusion::sql::sqlparser::ast;

use crate::RunError;

/// Plans the queries of a run's `sql` steps. A query is planned once per set of input schemas
/// and kept as a template whose stand-in scans each use fills with its own inputs: a pipeline
/// function called many times repeats its queries, and a generated pipeline repeats many.
#[derive(Default)]
pub(crate) struct QueryPlanner {
    templates: Mutex<HashMap<String, Vec<Template>>>,
}

/// A query planned over stand-ins for its inputs.
struct Template {
    /// The name and schema of each input, in the order the stand-ins number them.
    inputs: Vec<(String, SchemaRef)>,
    shape: Shape,
}

enum Shape {
    /// A plan that scans stand-ins.
    Plan(LogicalPlan),
    /// Every column of the input with this index, in order (`SELECT * FROM t`): the input
    /// itself.
    Identity(usize),
}

impl QueryPlanner {
    /// Plans `query` in `state` over `tables`, each a logical plan under the name the query
    /// uses.
    pub(crate) fn plan(
        &self,
        state: &SessionState,
        mut tables: Vec<(String, LogicalPlan)>,
        query: &str,
    ) -> Result<LogicalPlan, RunError> {
        let inputs: Vec<(String, SchemaRef)> = tables
            .iter()
            .map(|(name, plan)| (name.clone(), plan.schema().inner().clone()))
            .collect();
        let mut templates = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
        let planned = templates.entry(query.to_string()).or_default();
        let index = match planned.iter().position(|t| t.inputs == inputs) {
            Some(index) => index,
            None => {
                let shape = plan_template(state, &inputs, query)?;
                planned.push(Template { inputs, shape });
                planned.len() - 1
            }
        };
        match &planned[index].shape {
            Shape::Identity(input) => Ok(tables.swap_remove(*input).1),
            Shape::Plan(template) => {
                let filled = template.clone().transform_up_with_subqueries(|node| {
                    let LogicalPlan::TableScan(scan) = &node else {
                        return Ok(Transformed::no(node));
                    };
                    let source: &dyn Any = scan.source.as_ref();
                    let Some(stand_in) = source.downcast_ref::<StandIn>() else {
                        return Ok(Transformed::no(node));
                    };
                    Ok(Transformed::yes(fill(scan, &tables[stand_in.index].1)?))
                })?;
                Ok(filled.data)
            }
        }
    }
}

/// The plan `input` in the place of `scan`, a scan of its stand-in: the columns the scan reads,
/// under the scan's table name.
fn fill(scan: &TableScan, input: &LogicalPlan) -> Result<LogicalPlan> {
    let mut builder = LogicalPlanBuilder::from(input.clone());
    if let Some(columns) = &scan.projection {
        let schema = input.schema();
        builder = builder
            .project(columns.iter().map(|&i| Expr::Column(schema.qualified_field(i).into())))?;
    }
    builder.alias(scan.table_name.clone())?.build()
}

/// Plans `query` over stand-ins for `inputs`.
fn plan_template(
    state: &SessionState,
    inputs: &[(String, SchemaRef)],
    query: &str,
) -> Result<Shape, RunError> {
    let statement = state.sql_to_statement(query, &state.config_options().sql_parser.dialect)?;
    if !matches!(&statement, Statement::Statement(s) if matches!(**s, ast::Statement::Query(_))) {
        return Err(RunError::Param(format!("a `sql` step runs a query, not `{query}`")));
    }
    let inputs = Inputs {
        state,
        tables: inputs
            .iter()
            .enumerate()
            .map(|(index, (name, schema))| {
                let source: Arc<dyn TableSource> =
                    Arc::new(StandIn { index, schema: schema.clone() });
                (resolve(state, TableReference::from(name.as_str())), source)
            })
            .collect(),
    };
    let plan =
        SqlToRel::new_with_options(&inputs, parser_options(state)).statement_to_plan(statement)?;
    Ok(match identity_of(&plan) {
        Some(index) => Shape::Identity(index),
        None => Shape::Plan(plan),
    })
}

/// The input that `plan` yields unchanged, if it is every column of one stand-in, in order.
fn identity_of(plan: &LogicalPlan) -> Option<usize> {
    let LogicalPlan::Projection(projection) = plan else { return None };
    let LogicalPlan::TableScan(scan) = projection.input.as_ref() else { return None };
    let source: &dyn Any = scan.source.as_ref();
    let stand_in = source.downcast_ref::<StandIn>()?;
    let fields = stand_in.schema.fields();
    let same = scan.projection.is_none()
        && scan.filters.is_empty()
        && scan.fetch.is_none()
        && projection.expr.len() == fields.len()
        && projection
            .expr
            .iter()
            .zip(fields.iter())
            .all(|(expr, field)| matches!(expr, Expr::Column(c) if c.name == *field.name()));
    same.then_some(stand_in.index)
}

/// A table name as the session's default catalog and schema complete it.
fn resolve(state: &SessionState, name: TableReference) -> ResolvedTableReference {
    let catalog = &state.config_options().catalog;
    name.resolve(&catalog.default_catalog, &catalog.default_schema)
}

/// The planner's options, as the session's configuration sets them.
fn parser_options(state: &SessionState) -> ParserOptions {
    let options = &state.config_options().sql_parser;
    ParserOptions {
        parse_float_as_decimal: options.parse_float_as_decimal,
        enable_ident_normalization: options.enable_ident_normalization,
        enable_options_value_normalization: options.enable_options_value_normalization,
        support_varchar_with_length: options.support_varchar_with_length,
        map_string_types_to_utf8view: options.map_string_types_to_utf8view,
        collect_spans: options.collect_spans,
        default_null_ordering: options.default_null_ordering.as_str().into(),
    }
}

/// A table that stands for input `index` of a query while it is planned: it has the input's
/// schema, and its scans are replaced by the input's plan where the query is used.
#[derive(Debug)]
struct StandIn {
    index: usize,
    schema: SchemaRef,
}

impl TableSource for StandIn {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// What a query may refer to: its input tables, and the session's functions.
struct Inputs<'a> {
    state: &'a SessionState,
    tables: HashMap<ResolvedTableReference, Arc<dyn TableSource>>,
}

impl ContextProvider for Inputs<'_> {
    fn get_table_source(&self, name: TableReference) -> Result<Arc<dyn TableSource>> {
        let name = resolve(self.state, name);
        self.tables
            .get(&name)
            .cloned()
            .ok_or_else(|| plan_datafusion_err!("table '{name}' not found"))
    }

    fn get_table_function_source(
        &self,
        name: &str,
        args: Vec<Expr>,
    ) -> Result<Arc<dyn TableSource>> {
        let function = self
            .state
            .table_functions()
            .get(name)
            .cloned()
            .ok_or_else(|| plan_datafusion_err!("table function '{name}' not found"))?;
        let context = SimplifyContext::builder()
            .with_config_options(self.state.config_options().clone())
            .with_query_execution_start_time(
                self.state.execution_props().query_execution_start_time,
            )
            .build();
        let simplifier = ExprSimplifier::new(context);
        let schema = DFSchema::empty();
        let args = args
            .into_iter()
            .map(|arg| simplifier.coerce(arg, &schema).and_then(|e| simplifier.simplify(e)))
            .collect::<Result<Vec<_>>>()?;
        let provider =
            function.create_table_provider_with_args(TableFunctionArgs::new(&args, self.state))?;
        Ok(provider_as_source(provider))
    }

    fn create_cte_work_table(&self, name: &str, schema: SchemaRef) -> Result<Arc<dyn TableSource>> {
        Ok(provider_as_source(Arc::new(CteWorkTable::new(name, schema))))
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        self.state.expr_planners()
    }

    fn get_relation_planners(&self) -> &[Arc<dyn RelationPlanner>] {
        self.state.relation_planners()
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.state.scalar_functions().get(name).cloned()
    }

    fn get_higher_order_meta(&self, name: &str) -> Option<Arc<HigherOrderUDF>> {
        self.state.higher_order_functions().get(name).cloned()
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.state.aggregate_functions().get(name).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.state.window_functions().get(name).cloned()
    }

    fn get_variable_type(&self, _: &[String]) -> Option<DataType> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        self.state.config_options()
    }

    fn udf_names(&self) -> Vec<String> {
        self.state.scalar_functions().keys().cloned().collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        self.state.higher_order_functions().keys().cloned().collect()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.state.aggregate_functions().keys().cloned().collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        self.state.window_functions().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::UNNAMED_TABLE;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::SessionContext;

    use super::*;

    /// A plan of one batch with the given `i64` columns.
    fn table(columns: &[(&str, Vec<i64>)]) -> LogicalPlan {
        let fields: Vec<Field> =
            columns.iter().map(|(name, _)| Field::new(*name, DataType::Int64, false)).collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays = columns
            .iter()
            .map(|(_, values)| Arc::new(Int64Array::from(values.clone())) as _)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .unwrap_or_else(|e| panic!("a test batch: {e}"));
        let memory = MemTable::try_new(schema, vec![vec![batch]])
            .unwrap_or_else(|e| panic!("a test table: {e}"));
        LogicalPlanBuilder::scan(UNNAMED_TABLE, provider_as_source(Arc::new(memory)), None)
            .and_then(LogicalPlanBuilder::build)
            .unwrap_or_else(|e| panic!("a test plan: {e}"))
    }

    async fn rows(state: &SessionState, plan: &LogicalPlan) -> String {
        let plan = state.create_physical_plan(plan).await.unwrap_or_else(|e| panic!("{e}"));
        let batches = collect(plan, state.task_ctx()).await.unwrap_or_else(|e| panic!("{e}"));
        pretty_format_batches(&batches).unwrap_or_else(|e| panic!("{e}")).to_string()
    }

    #[tokio::test]
    async fn a_query_reads_its_inputs_by_name_with_joins_subqueries_and_ctes() {
        let state = SessionContext::new().state();
        let planner = QueryPlanner::default();
        let query = "WITH big AS (SELECT k, x FROM a WHERE x > 1) \
                     SELECT big.k, x + y AS z FROM big JOIN b ON big.k = b.k \
                     WHERE big.k IN (SELECT k FROM b) ORDER BY big.k";
        let tables = vec![
            ("a".to_string(), table(&[("k", vec![1, 2, 3]), ("x", vec![1, 20, 30])])),
            ("b".to_string(), table(&[("k", vec![2, 3]), ("y", vec![100, 200])])),
        ];
        let plan = planner.plan(&state, tables, query).unwrap_or_else(|e| panic!("{e}"));
        let expected =
            "+---+-----+\n| k | z   |\n+---+-----+\n| 2 | 120 |\n| 3 | 230 |\n+---+-----+";
        assert_eq!(rows(&state, &plan).await, expected);
    }

    #[tokio::test]
    async fn a_query_is_planned_once_per_input_schemas_and_select_star_is_its_input() {
        let state = SessionContext::new().state();
        let planner = QueryPlanner::default();
        for (query, values) in
            [("SELECT k * 2 AS k FROM t", vec![2, 4]), ("SELECT * FROM t", vec![1, 2])]
        {
            for _ in 0..3 {
                let input = table(&[("k", vec![1, 2])]);
                let tables = vec![("t".to_string(), input.clone())];
                let plan = planner.plan(&state, tables, query).unwrap_or_else(|e| panic!("{e}"));
                if query == "SELECT * FROM t" {
                    assert_eq!(plan, input);
                }
                let expected =
                    format!("+---+\n| k |\n+---+\n| {} |\n| {} |\n+---+", values[0], values[1]);
                assert_eq!(rows(&state, &plan).await, expected);
            }
            // Another schema is another template.
            let other = vec![("t".to_string(), table(&[("k", vec![5]), ("j", vec![6])]))];
            planner.plan(&state, other, query).unwrap_or_else(|e| panic!("{e}"));
        }
        let templates = planner.templates.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(templates.values().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
    }

    #[test]
    fn statements_other_than_queries_and_unknown_tables_are_errors() {
        let state = SessionContext::new().state();
        let planner = QueryPlanner::default();
        for query in ["CREATE TABLE x AS SELECT 1", "DROP TABLE t", "COPY t TO 'x.csv'"] {
            let tables = vec![("t".to_string(), table(&[("k", vec![1])]))];
            let error = planner.plan(&state, tables, query).map(|_| ()).unwrap_err();
            assert!(error.to_string().contains("runs a query"), "{query}: {error}");
        }
        let error = planner.plan(&state, Vec::new(), "SELECT * FROM nowhere").unwrap_err();
        assert!(
            error.to_string().contains("table 'datafusion.public.nowhere' not found"),
            "{error}"
        );
    }
}
