# Export the text and factor columns of R's own data sets (package datasets,
# and nlme's Oats) for the privacy-guard tests: ordinary category labels
# that must not be taken for names of people, and Oats itself for the
# `trialanalysis fit` test.
# Run from the repository root: Rscript tests/ingest/data/export_r_labels.R
suppressPackageStartupMessages(library(nlme))
rows <- list()
add <- function(dataset, column, values) {
  values <- unique(as.character(values))
  values <- values[!is.na(values) & nzchar(values)]
  if (length(values) > 0) {
    rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, column = column, value = values)
  }
}
names <- data(package = "datasets")$results[, "Item"]
names <- sub(" .*", "", names)
for (name in sort(unique(names))) {
  object <- tryCatch(get(name, envir = asNamespace("datasets")), error = function(e) NULL)
  if (is.data.frame(object)) {
    for (column in names(object)) {
      if (is.factor(object[[column]]) || is.character(object[[column]])) {
        add(name, column, object[[column]])
      }
    }
    if (!identical(rownames(object), as.character(seq_len(nrow(object))))) {
      add(name, "(row names)", rownames(object))
    }
  } else if (is.character(object) || is.factor(object)) {
    add(name, "(values)", object)
  } else if (!is.null(names(object)) && is.vector(object)) {
    add(name, "(names)", names(object))
  }
}
add("nlme::Oats", "Variety", nlme::Oats$Variety)
labels <- do.call(rbind, rows)
write.csv(labels, "tests/ingest/data/r_category_labels.csv", row.names = FALSE, fileEncoding = "UTF-8")
oats <- as.data.frame(nlme::Oats)
oats$Block <- as.character(oats$Block)
oats$Variety <- as.character(oats$Variety)
write.csv(oats, "tests/ingest/data/oats.csv", row.names = FALSE, fileEncoding = "UTF-8")
# Golden values for the `trialanalysis fit` test on Oats (REML, Satterthwaite df).
suppressPackageStartupMessages(library(lmerTest))
fit <- lmer(yield ~ nitro + Variety + (1 | Block), data = oats)
coefs <- as.data.frame(coef(summary(fit)))
golden <- data.frame(term = rownames(coefs), estimate = coefs$Estimate,
                     std_error = coefs$`Std. Error`, df = coefs$df)
write.csv(golden, "tests/ingest/data/oats_lmer.csv", row.names = FALSE)
