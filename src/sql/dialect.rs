//! The SQL dialect Grizzly parses: PostgreSQL's, plus time travel on table references.
//!
//! Two spellings select a table's state at a moment:
//! - `FROM t FOR SYSTEM_TIME AS OF <expr>` (SQL:2011), which sqlparser parses for
//!   dialects that declare table versioning; `GrizzlyDialect` is PostgreSQL's dialect
//!   with that one capability added;
//! - `FROM t AS OF TIMESTAMP <expr>`, which no sqlparser dialect knows: `tokenize`
//!   rewrites the three keywords to the SQL:2011 ones before parsing, so both reach the
//!   planner as `TableVersion::ForSystemTimeAsOf`.
//!
//! Everything else is delegated to `PostgreSqlDialect`, which also answers for this
//! dialect's identity, so parser paths that check for PostgreSQL still take effect.

use std::any::TypeId;

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};

#[derive(Debug, Default)]
pub struct GrizzlyDialect(PostgreSqlDialect);

/// Parses `sql` into statements with time travel on table references.
pub fn parse(sql: &str) -> Result<Vec<Statement>, ParserError> {
    let dialect = GrizzlyDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ParserError::TokenizerError(e.to_string()))?;
    let tokens = rewrite_fetch_statements(rewrite_user_statements(tokens));
    let rewritten = rewrite_as_of_timestamp(tokens.clone());
    let rewrote = rewritten.len() != tokens.len();
    let mut statements = match Parser::new(&dialect)
        .with_tokens_with_locations(rewritten)
        .parse_statements()
    {
        // An error in a statement with AS OF TIMESTAMP would name the rewritten words;
        // report it as the original text reads (e.g. AS OF on an INSERT target).
        Err(_) if rewrote => Parser::new(&dialect)
            .with_tokens_with_locations(tokens)
            .parse_statements(),
        result => result,
    }?;
    for statement in &mut statements {
        fetch_first_as_limit(statement);
    }
    Ok(statements)
}

/// `FETCH FIRST n ROWS ONLY` (SQL's spelling of LIMIT, which DataFusion does not plan)
/// as `LIMIT n`; `WITH TIES` and `PERCENT` are left for DataFusion to refuse.
fn fetch_first_as_limit(statement: &mut Statement) {
    use datafusion::sql::sqlparser::ast::{Expr, LimitClause, Query, Value, VisitMut, VisitorMut};
    struct FetchFirst;
    impl VisitorMut for FetchFirst {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            let plain = query
                .fetch
                .as_ref()
                .is_some_and(|f| !f.with_ties && !f.percent);
            let no_limit = match &query.limit_clause {
                None => true,
                Some(LimitClause::LimitOffset {
                    limit: None,
                    limit_by,
                    ..
                }) => limit_by.is_empty(),
                Some(_) => false,
            };
            if plain && no_limit {
                let one = || Expr::value(Value::Number("1".into(), false));
                let quantity = query.fetch.take().and_then(|f| f.quantity);
                let offset = match query.limit_clause.take() {
                    Some(LimitClause::LimitOffset { offset, .. }) => offset,
                    _ => None,
                };
                query.limit_clause = Some(LimitClause::LimitOffset {
                    limit: Some(quantity.unwrap_or_else(one)),
                    offset,
                    limit_by: Vec::new(),
                });
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut FetchFirst);
}

/// PostgreSQL's `CREATE USER name …` is `CREATE ROLE name LOGIN …`, and `ALTER USER` and
/// `DROP USER` are `ALTER ROLE` and `DROP ROLE`; sqlparser reads `CREATE USER` in
/// another database's syntax, so statements beginning so are spelled as roles.
fn rewrite_user_statements(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let word = |token: &TokenWithSpan, expected: Keyword| matches!(&token.token, Token::Word(w) if w.keyword == expected && w.quote_style.is_none());
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut out = tokens.clone();
    let mut login_after = Vec::new();
    for (n, &i) in significant.iter().enumerate() {
        let starts_statement =
            n == 0 || matches!(tokens[significant[n - 1]].token, Token::SemiColon);
        let Some(&next) = significant.get(n + 1) else {
            break;
        };
        if !starts_statement || !word(&tokens[next], Keyword::USER) {
            continue;
        }
        let role = Token::make_keyword("ROLE");
        if word(&tokens[i], Keyword::CREATE) {
            out[next].token = role;
            // LOGIN goes after the name, and after WITH if one follows it.
            let name = significant.get(n + 2).copied();
            let with = significant
                .get(n + 3)
                .copied()
                .filter(|&w| word(&tokens[w], Keyword::WITH));
            login_after.extend(with.or(name));
        } else if word(&tokens[i], Keyword::ALTER) || word(&tokens[i], Keyword::DROP) {
            out[next].token = role;
        }
    }
    // From the last, so earlier positions stay valid.
    for position in login_after.into_iter().rev() {
        let span = out[position].span;
        let space = Token::Whitespace(datafusion::sql::sqlparser::tokenizer::Whitespace::Space);
        out.splice(
            position + 1..position + 1,
            [
                TokenWithSpan::new(space.clone(), span),
                TokenWithSpan::new(Token::make_keyword("LOGIN"), span),
                TokenWithSpan::new(space, span),
            ],
        );
    }
    out
}

/// PostgreSQL's FETCH takes its direction, a FORWARD's count and its FROM/IN as optional
/// (`FETCH c`, `FETCH FROM c`, `FETCH FORWARD c`, `FETCH 5 c`); sqlparser needs them, so
/// they are written in: `NEXT`, `1` and `FROM`.
fn rewrite_fetch_statements(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is = |i: usize, expected: &[Keyword]| matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none() && expected.contains(&w.keyword));
    let is_number = |i: usize| matches!(tokens[i].token, Token::Number(..));
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    // (token position to insert before, tokens to insert), in token order.
    let mut inserts: Vec<(usize, Vec<Token>)> = Vec::new();
    for (n, &i) in significant.iter().enumerate() {
        let starts_statement =
            n == 0 || matches!(tokens[significant[n - 1]].token, Token::SemiColon);
        if !starts_statement || !is(i, &[Keyword::FETCH]) {
            continue;
        }
        let at = |k: usize| significant.get(n + k).copied();
        // The direction's tokens: a keyword, a keyword with a count, or a count.
        let mut k = 1;
        let mut added = Vec::new();
        let direction = match at(k) {
            Some(t) if is(t, &[Keyword::FORWARD, Keyword::BACKWARD]) => {
                let counted = at(k + 1).is_some_and(|c| is_number(c) || is(c, &[Keyword::ALL]));
                k += if counted { 2 } else { 1 };
                if !counted {
                    added.push(Token::Number("1".into(), false)); // FORWARD is FORWARD 1
                }
                true
            }
            Some(t) if is(t, &[Keyword::ABSOLUTE, Keyword::RELATIVE]) => {
                k += 2;
                true
            }
            Some(t)
                if is(
                    t,
                    &[
                        Keyword::NEXT,
                        Keyword::PRIOR,
                        Keyword::FIRST,
                        Keyword::LAST,
                        Keyword::ALL,
                    ],
                ) || is_number(t) =>
            {
                k += 1;
                true
            }
            _ => false,
        };
        let Some(next) = at(k) else {
            continue;
        };
        if !direction {
            added.push(Token::make_keyword("NEXT"));
        }
        if !is(next, &[Keyword::FROM, Keyword::IN]) {
            added.push(Token::make_keyword("FROM"));
        }
        if !added.is_empty() {
            inserts.push((next, added));
        }
    }
    let mut out = tokens.clone();
    // From the last, so earlier positions stay valid.
    for (position, added) in inserts.into_iter().rev() {
        let span = out[position].span;
        let space = Token::Whitespace(datafusion::sql::sqlparser::tokenizer::Whitespace::Space);
        let added = added.into_iter().flat_map(|token| {
            [
                TokenWithSpan::new(token, span),
                TokenWithSpan::new(space.clone(), span),
            ]
        });
        out.splice(position..position, added.collect::<Vec<_>>());
    }
    out
}

/// `AS OF TIMESTAMP` → `FOR SYSTEM_TIME AS OF`.
fn rewrite_as_of_timestamp(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let keyword = |token: &TokenWithSpan, expected: Keyword| matches!(&token.token, Token::Word(w) if w.keyword == expected && w.quote_style.is_none());
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut i = 0;
    while i < tokens.len() {
        if keyword(&tokens[i], Keyword::AS) {
            let rest: Vec<usize> = (i + 1..tokens.len())
                .filter(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
                .take(2)
                .collect();
            if let [of, timestamp] = rest[..] {
                if keyword(&tokens[of], Keyword::OF)
                    && keyword(&tokens[timestamp], Keyword::TIMESTAMP)
                {
                    let span = tokens[i].span;
                    for (word, kw) in [
                        ("FOR", Keyword::FOR),
                        ("SYSTEM_TIME", Keyword::SYSTEM_TIME),
                        ("AS", Keyword::AS),
                        ("OF", Keyword::OF),
                    ] {
                        let word = Word {
                            value: word.to_string(),
                            quote_style: None,
                            keyword: kw,
                        };
                        out.push(TokenWithSpan::new(Token::Word(word), span));
                        out.push(TokenWithSpan::new(
                            Token::Whitespace(
                                datafusion::sql::sqlparser::tokenizer::Whitespace::Space,
                            ),
                            span,
                        ));
                    }
                    i = timestamp + 1;
                    continue;
                }
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

impl Dialect for GrizzlyDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn supports_table_versioning(&self) -> bool {
        true
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn supports_unicode_string_literal(&self) -> bool {
        self.0.supports_unicode_string_literal()
    }

    fn is_reserved_for_identifier(&self, kw: Keyword) -> bool {
        self.0.is_reserved_for_identifier(kw)
    }

    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        self.0.supports_filter_during_aggregation()
    }

    fn supports_group_by_expr(&self) -> bool {
        self.0.supports_group_by_expr()
    }

    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }

    fn allow_extract_custom(&self) -> bool {
        self.0.allow_extract_custom()
    }

    fn allow_extract_single_quotes(&self) -> bool {
        self.0.allow_extract_single_quotes()
    }

    fn supports_create_index_with_clause(&self) -> bool {
        self.0.supports_create_index_with_clause()
    }

    fn supports_explain_with_utility_options(&self) -> bool {
        self.0.supports_explain_with_utility_options()
    }

    fn supports_listen_notify(&self) -> bool {
        self.0.supports_listen_notify()
    }

    fn supports_factorial_operator(&self) -> bool {
        self.0.supports_factorial_operator()
    }

    fn supports_bitwise_shift_operators(&self) -> bool {
        self.0.supports_bitwise_shift_operators()
    }

    fn supports_comment_on(&self) -> bool {
        self.0.supports_comment_on()
    }

    fn supports_load_extension(&self) -> bool {
        self.0.supports_load_extension()
    }

    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_colon_operator()
    }

    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.0.supports_named_fn_args_with_expr_name()
    }

    fn supports_empty_projections(&self) -> bool {
        self.0.supports_empty_projections()
    }

    fn supports_nested_comments(&self) -> bool {
        self.0.supports_nested_comments()
    }

    fn supports_string_escape_constant(&self) -> bool {
        self.0.supports_string_escape_constant()
    }

    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }

    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.0.supports_array_typedef_with_brackets()
    }

    fn supports_geometric_types(&self) -> bool {
        self.0.supports_geometric_types()
    }

    fn supports_set_names(&self) -> bool {
        self.0.supports_set_names()
    }

    fn supports_alter_column_type_using(&self) -> bool {
        self.0.supports_alter_column_type_using()
    }

    fn supports_notnull_operator(&self) -> bool {
        self.0.supports_notnull_operator()
    }

    fn supports_interval_options(&self) -> bool {
        self.0.supports_interval_options()
    }

    fn supports_insert_table_alias(&self) -> bool {
        self.0.supports_insert_table_alias()
    }

    fn supports_create_table_like_parenthesized(&self) -> bool {
        self.0.supports_create_table_like_parenthesized()
    }

    fn supports_select_wildcard_with_alias(&self) -> bool {
        self.0.supports_select_wildcard_with_alias()
    }

    fn supports_comma_separated_trim(&self) -> bool {
        self.0.supports_comma_separated_trim()
    }

    fn supports_xml_expressions(&self) -> bool {
        self.0.supports_xml_expressions()
    }

    fn supports_comment_optimizer_hint(&self) -> bool {
        self.0.supports_comment_optimizer_hint()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::ast::{SetExpr, TableFactor, TableVersion};

    use super::*;

    fn version_of(sql: &str) -> Option<String> {
        let statements = parse(sql).unwrap();
        let Statement::Query(query) = &statements[0] else {
            panic!("not a query: {sql}")
        };
        let SetExpr::Select(select) = query.body.as_ref() else {
            panic!("not a select: {sql}")
        };
        match &select.from[0].relation {
            TableFactor::Table {
                version: Some(TableVersion::ForSystemTimeAsOf(expr)),
                ..
            } => Some(expr.to_string()),
            _ => None,
        }
    }

    #[test]
    fn both_spellings_parse_to_a_table_version() {
        assert_eq!(
            version_of("SELECT * FROM t AS OF TIMESTAMP '2026-11-24 10:00:00+00' AS x").as_deref(),
            Some("'2026-11-24 10:00:00+00'")
        );
        assert_eq!(
            version_of("SELECT * FROM t FOR SYSTEM_TIME AS OF now() - INTERVAL '5 minutes'")
                .as_deref(),
            Some("now() - INTERVAL '5 minutes'")
        );
        assert_eq!(version_of("SELECT 1 AS of FROM t"), None);
    }

    #[test]
    fn postgresql_syntax_still_parses() {
        for sql in [
            "SELECT 'a' || 'b', x::int, E'\\n', $1, 2 ^ 3, a->>'k' FROM t",
            "SELECT count(*) FILTER (WHERE x > 1) FROM t",
            "SELECT \"Quoted\" FROM t WHERE x IS NOT NULL",
        ] {
            assert!(parse(sql).is_ok(), "{sql}");
        }
    }
}
