//! `PlanTable`: a physical plan read as a table, so that SQL and DataFusion's logical
//! operations can consume the output of an aigrid operator (an AI call, a kernel) without
//! materialising it first.
//!
//! A scan yields the plan itself, under a projection when one is asked for; filters are left
//! to DataFusion above the scan. The plan runs once per scan.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;

/// A table whose rows are the output of a physical plan.
#[derive(Debug)]
pub struct PlanTable {
    plan: Arc<dyn ExecutionPlan>,
}

impl PlanTable {
    /// The table of `plan`'s rows.
    pub fn new(plan: Arc<dyn ExecutionPlan>) -> PlanTable {
        PlanTable { plan }
    }
}

#[async_trait]
impl TableProvider for PlanTable {
    fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _: &dyn Session,
        projection: Option<&Vec<usize>>,
        _: &[Expr],
        _: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.plan.schema();
        match projection {
            Some(columns) if columns.len() != schema.fields().len() || !in_order(columns) => {
                let exprs = columns.iter().map(|&i| {
                    let name = schema.field(i).name().clone();
                    let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(&name, i));
                    (column, name)
                });
                Ok(Arc::new(ProjectionExec::try_new(exprs, self.plan.clone())?))
            }
            _ => Ok(self.plan.clone()),
        }
    }
}

/// Whether `columns` is 0, 1, 2, ...
fn in_order(columns: &[usize]) -> bool {
    columns.iter().enumerate().all(|(i, &c)| i == c)
}
