/*
 * supportdesk.sla._kernel: the single-ticket hot path of BusinessClock.due() in C.
 *
 * It answers exactly what supportdesk/sla/clock.py's pure-Python path answers (the tests run the
 * same cases and property tests through both), for the common case only: an aware datetime of
 * the exact type datetime.datetime, a target that is a whole-second timedelta or an int > 0, no
 * pauses, and a start and result inside the current table. For anything else it returns None and
 * BusinessClock.due() takes its Python path, which also raises the errors (a naive datetime, a
 * negative target, an instant beyond the horizon). It reads the table's numpy arrays through the
 * buffer protocol, holding views on them for its lifetime; a table is never modified after it is
 * built (growing a table builds a new one and a new Kernel).
 *
 * The arithmetic, with the table of timeline.py (index 0 is a zero-length sentinel at lo):
 *   i = the last interval starting at or before t    (start bucket, then step forward)
 *   wanted = cum(t) + target, cum(t) = cum_end[i] - max(ends[i] - t, 0)
 *   j = the first interval whose running total reaches wanted   (cum bucket, then step forward)
 *   due = ends[j] - (cum_end[j] - wanted)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>

enum { STARTS_PADDED, ENDS, CUM_END, START_BUCKETS, CUM_BUCKETS, N_ARRAYS };
static const char *const array_names[N_ARRAYS] = {
    "starts_padded", "ends", "cum_end", "start_buckets", "cum_buckets"};

typedef struct {
    PyObject_HEAD
    Py_buffer views[N_ARRAYS];
    int n_views; /* how many views are held (all of them once __init__ succeeded) */
    const int64_t *data[N_ARRAYS];
    Py_ssize_t len[N_ARRAYS];
    int64_t lo, hi;
    int start_shift, cum_shift;
} Kernel;

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static void Kernel_release(Kernel *self) {
    for (int k = 0; k < self->n_views; k++) PyBuffer_Release(&self->views[k]);
    self->n_views = 0;
}

static int Kernel_init(Kernel *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"starts_padded", "ends",  "cum_end",     "start_buckets",
                             "cum_buckets",   "lo",    "hi",          "start_shift",
                             "cum_shift",     NULL};
    PyObject *arrays[N_ARRAYS];
    long long lo, hi;
    int start_shift, cum_shift;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOLLii", kwlist, &arrays[0], &arrays[1],
                                     &arrays[2], &arrays[3], &arrays[4], &lo, &hi, &start_shift,
                                     &cum_shift))
        return -1;
    Kernel_release(self);
    for (int k = 0; k < N_ARRAYS; k++) {
        Py_buffer *view = &self->views[k];
        if (PyObject_GetBuffer(arrays[k], view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            Kernel_release(self);
            return -1;
        }
        self->n_views = k + 1;
        const char *fmt = view->format ? view->format : "B";
        if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
        if (view->itemsize != 8 || view->ndim != 1 || (strcmp(fmt, "q") && strcmp(fmt, "l"))) {
            PyErr_Format(PyExc_TypeError, "%s must be a one-dimensional int64 array",
                         array_names[k]);
            Kernel_release(self);
            return -1;
        }
        self->data[k] = (const int64_t *)view->buf;
        self->len[k] = view->shape[0];
    }
    if (self->len[ENDS] < 1 || self->len[CUM_END] != self->len[ENDS] ||
        self->len[STARTS_PADDED] != self->len[ENDS] + 1 || self->len[START_BUCKETS] < 1 ||
        self->len[CUM_BUCKETS] < 1 || start_shift < 0 || start_shift > 62 || cum_shift < 0 ||
        cum_shift > 62 || hi < lo) {
        PyErr_SetString(PyExc_ValueError, "inconsistent table");
        Kernel_release(self);
        return -1;
    }
    self->lo = lo;
    self->hi = hi;
    self->start_shift = start_shift;
    self->cum_shift = cum_shift;
    return 0;
}

static void Kernel_dealloc(Kernel *self) {
    Kernel_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Epoch seconds (floored) of an aware datetime.datetime; 0 = done, 1 = not handled, -1 = error. */
static int epoch_seconds(PyObject *start, int64_t *out) {
    if (!PyDateTime_CheckExact(start)) return 1;
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(start);
    if (tz == Py_None) return 1;
    int64_t offset_us = 0;
    if (tz != PyDateTime_TimeZone_UTC) {
        PyObject *offset = PyObject_CallMethod(tz, "utcoffset", "O", start);
        if (offset == NULL) return -1;
        if (!PyDelta_CheckExact(offset)) {
            Py_DECREF(offset);
            return 1;
        }
        offset_us = ((int64_t)PyDateTime_DELTA_GET_DAYS(offset) * 86400 +
                     PyDateTime_DELTA_GET_SECONDS(offset)) * 1000000 +
                    PyDateTime_DELTA_GET_MICROSECONDS(offset);
        Py_DECREF(offset);
    }
    int64_t days = days_from_civil(PyDateTime_GET_YEAR(start), PyDateTime_GET_MONTH(start),
                                   PyDateTime_GET_DAY(start));
    int64_t local_s = days * 86400 + PyDateTime_DATE_GET_HOUR(start) * 3600 +
                      PyDateTime_DATE_GET_MINUTE(start) * 60 + PyDateTime_DATE_GET_SECOND(start);
    int64_t us = local_s * 1000000 + PyDateTime_DATE_GET_MICROSECOND(start) - offset_us;
    *out = floor_div(us, 1000000);
    return 0;
}

static PyObject *Kernel_due(Kernel *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "due(start, target) takes two arguments");
        return NULL;
    }
    if (self->n_views != N_ARRAYS) {
        PyErr_SetString(PyExc_RuntimeError, "kernel not initialised");
        return NULL;
    }
    int64_t t, x;
    int status = epoch_seconds(args[0], &t);
    if (status < 0) return NULL;
    if (status > 0) Py_RETURN_NONE;
    PyObject *target = args[1];
    if (PyDelta_CheckExact(target)) {
        if (PyDateTime_DELTA_GET_MICROSECONDS(target)) Py_RETURN_NONE;
        x = (int64_t)PyDateTime_DELTA_GET_DAYS(target) * 86400 +
            PyDateTime_DELTA_GET_SECONDS(target);
    } else if (PyLong_CheckExact(target)) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(target, &overflow);
        if (value == -1 && PyErr_Occurred()) return NULL;
        if (overflow) Py_RETURN_NONE;
        x = value;
    } else {
        Py_RETURN_NONE;
    }
    const int64_t *cum_end = self->data[CUM_END];
    const int64_t total = cum_end[self->len[CUM_END] - 1];
    if (x <= 0 || x > total || t < self->lo || t > self->hi) Py_RETURN_NONE;

    const int64_t *starts = self->data[STARTS_PADDED];
    const int64_t *ends = self->data[ENDS];
    int64_t bucket = (t - self->lo) >> self->start_shift;
    if (bucket >= self->len[START_BUCKETS]) Py_RETURN_NONE;
    int64_t i = self->data[START_BUCKETS][bucket];
    /* starts[len] is a sentinel far in the future, so this stops at the last real interval. */
    while (starts[i + 1] <= t) i++;
    int64_t gap = ends[i] - t;
    int64_t wanted = (gap > 0 ? cum_end[i] - gap : cum_end[i]) + x;
    if (wanted > total) Py_RETURN_NONE; /* the Python path grows the table */
    bucket = wanted >> self->cum_shift;
    if (bucket >= self->len[CUM_BUCKETS]) Py_RETURN_NONE;
    int64_t j = self->data[CUM_BUCKETS][bucket];
    while (cum_end[j] < wanted) j++; /* ends at the last interval at worst: wanted <= total */
    int64_t due = ends[j] - cum_end[j] + wanted;

    int64_t day = floor_div(due, 86400), rest = due - day * 86400;
    int year, month, dom;
    civil_from_days(day, &year, &month, &dom);
    return PyDateTimeAPI->DateTime_FromDateAndTime(year, month, dom, (int)(rest / 3600),
                                                   (int)(rest % 3600 / 60), (int)(rest % 60), 0,
                                                   PyDateTime_TimeZone_UTC,
                                                   PyDateTimeAPI->DateTimeType);
}

static PyMethodDef Kernel_methods[] = {
    {"due", (PyCFunction)(void (*)(void))Kernel_due, METH_FASTCALL,
     "due(start, target) -> datetime | None: the due instant (UTC) for an aware datetime and a "
     "whole-second timedelta or int target > 0 without pauses, or None when the Python path must "
     "answer."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "supportdesk.sla._kernel.Kernel",
    .tp_doc = PyDoc_STR("The single-query hot path over one immutable SLA table."),
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_methods = Kernel_methods,
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_kernel",
    .m_doc = "The single-query hot path of supportdesk.sla.BusinessClock.due, in C.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__kernel(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    if (PyType_Ready(&KernelType) < 0) return NULL;
    PyObject *module = PyModule_Create(&kernel_module);
    if (module == NULL) return NULL;
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(module, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
