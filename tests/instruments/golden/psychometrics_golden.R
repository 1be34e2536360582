# Golden values for tests/instruments/test_psychometrics.py.
#
# Simulates ordinal responses to a 6-item test instrument ("gold", 1-5 scale,
# item 4 negatively worded) at two time points, writes them to
# psychometrics_items.csv, and computes with R/psych what the Python
# psychometrics table must reproduce: Cronbach's alpha (psych::alpha), its
# Feldt CI (psych::alpha.ci), mean inter-item r, corrected item-total r and
# alpha-if-deleted (psych::alpha), one-factor ML loadings (stats::factanal)
# and McDonald's omega total = (sum l)^2 / ((sum l)^2 + sum u), floor/ceiling
# of the prorated sum (<= 1 item missing) and missing items among respondents
# (rows with at least one item of the instrument answered).
#
# Run from this folder: Rscript psychometrics_golden.R
# (R 4.2.2, psych 2.2.9)
suppressMessages(library(psych))
set.seed(20240501)

simulate <- function(n, shift) {
  loadings <- c(0.8, 0.7, 0.6, -0.55, 0.45, 0.75)
  eta <- rnorm(n, shift)
  x <- sapply(loadings, function(l) l * eta + sqrt(1 - l^2) * rnorm(n))
  matrix(findInterval(x, c(-1.5, -0.5, 0.5, 1.5)) + 1L, n)
}
items <- rbind(simulate(120, 0), simulate(120, 0.9))
items[sample(length(items), 30)] <- NA       # scattered missing responses
items[5, ] <- NA                             # a non-respondent
items[7, 1:2] <- NA                          # too many missing for a score
items[9, 1:3] <- NA                          # sub3 blank, the rest answered
colnames(items) <- paste0("gold_", 1:6)
data <- data.frame(id = sprintf("p%03d", 1:240),
                   timepoint = rep(c("baseline", "3m"), each = 120), items)
write.csv(data, "psychometrics_items.csv", row.names = FALSE, na = "")

keyed <- items
keyed[, 4] <- 6 - keyed[, 4]
scores <- list(total = 1:6, sub3 = 1:3)
rows <- list(); item_rows <- list()
for (tp in c("baseline", "3m")) {
  for (s in names(scores)) {
    x <- keyed[data$timepoint == tp, scores[[s]], drop = FALSE]
    k <- ncol(x)
    answered <- rowSums(!is.na(x))
    # respondents: answered at least one item of the instrument (not only of the score)
    respondents <- rowSums(!is.na(keyed[data$timepoint == tp, , drop = FALSE])) > 0
    complete <- na.omit(x)
    n <- nrow(complete)
    a <- psych::alpha(complete, check.keys = FALSE, warnings = FALSE)
    ci <- psych::alpha.ci(a$total$raw_alpha, n, k, p.val = 0.05)
    fa <- factanal(covmat = cor(complete), factors = 1, n.obs = n)
    l <- as.vector(fa$loadings); l <- l * sign(sum(l)); u <- fa$uniquenesses
    score <- ifelse(k - answered <= 1 & answered > 0,
                    rowMeans(x, na.rm = TRUE) * k, NA)
    score <- score[!is.na(score)]
    rows[[length(rows) + 1]] <- data.frame(
      timepoint = tp, score = s, n_items = k, n_rows = nrow(x),
      n_respondents = sum(respondents),
      missing_items_pct = 100 * sum(is.na(x[respondents, ])) / (sum(respondents) * k),
      n_complete = n, n_scored = length(score),
      cronbach_alpha = a$total$raw_alpha, alpha_conf_low = ci$lower.ci,
      alpha_conf_high = ci$upper.ci, mean_inter_item_r = a$total$average_r,
      omega_total = sum(l)^2 / (sum(l)^2 + sum(u)),
      floor_pct = 100 * mean(abs(score - k) < 1e-9),
      ceiling_pct = 100 * mean(abs(score - 5 * k) < 1e-9))
    item_rows[[length(item_rows) + 1]] <- data.frame(
      timepoint = tp, score = s, item = scores[[s]],
      corrected_item_total_r = a$item.stats$r.drop,
      alpha_if_deleted = if (k > 2) a$alpha.drop$raw_alpha else NA,
      loading = l)
  }
}
options(digits = 15)
write.csv(do.call(rbind, rows), "psychometrics_golden.csv", row.names = FALSE)
write.csv(do.call(rbind, item_rows), "psychometrics_items_golden.csv", row.names = FALSE)
