/* backend._ed25519_batch: check many Ed25519 signatures with the GIL released once.
 *
 * Not cryptography of our own: every signature is checked by libsodium's
 * crypto_sign_verify_detached, the very function PyNaCl calls, found in PyNaCl's own copy of
 * libsodium (backend/core/ed25519.py passes its address to bind()). What this adds is the
 * loop: PyNaCl releases and re-takes the GIL around each signature, and with other threads
 * running Python each re-take waited for them (measured: 100 signatures took 5.6 ms alone and
 * 22-120 ms next to one busy thread). Here the GIL is released once per batch.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

typedef int (*verify_detached_fn)(const unsigned char *sig, const unsigned char *m,
                                  unsigned long long mlen, const unsigned char *pk);

static verify_detached_fn verify_detached = NULL;

#define SIGNATURE_BYTES 64
#define PUBLIC_KEY_BYTES 32

static PyObject *bind(PyObject *self, PyObject *arg) {
    void *address = PyLong_AsVoidPtr(arg);
    if (address == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "the address of crypto_sign_verify_detached is 0");
        }
        return NULL;
    }
    verify_detached = (verify_detached_fn)address;
    Py_RETURN_NONE;
}

/* first_invalid(public_key, signatures, messages) -> index of the first signature that does
 * not verify (a wrong length counts as not verifying), or -1 when all do. */
static PyObject *first_invalid(PyObject *self, PyObject *args) {
    Py_buffer key;
    PyObject *signatures, *messages;
    if (verify_detached == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() was not called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*O!O!", &key, &PyList_Type, &signatures, &PyList_Type,
                          &messages)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(signatures);
    if (key.len != PUBLIC_KEY_BYTES || PyList_GET_SIZE(messages) != count) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError,
                        "a 32-byte key and as many messages as signatures are needed");
        return NULL;
    }
    Py_ssize_t slots = count ? count : 1;
    PyObject **held = PyMem_Malloc(sizeof(*held) * 2 * slots);
    Py_ssize_t *length = PyMem_Malloc(sizeof(*length) * slots);
    if (held == NULL || length == NULL) {
        PyMem_Free(held);
        PyMem_Free(length);
        PyBuffer_Release(&key);
        return PyErr_NoMemory();
    }
    /* Our own references to every bytes object (immutable): the lists may change while the
     * GIL is released, the objects we read stay alive. */
    Py_ssize_t bad = -1, ready = count, taken = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *s = PyList_GET_ITEM(signatures, i), *m = PyList_GET_ITEM(messages, i);
        if (!PyBytes_Check(s) || !PyBytes_Check(m)) {
            PyErr_Format(PyExc_TypeError, "signature and message %zd must be bytes", i);
            bad = -2;
            break;
        }
        if (PyBytes_GET_SIZE(s) != SIGNATURE_BYTES) {
            ready = i; /* this one is invalid: check only the ones before it */
            break;
        }
        Py_INCREF(s);
        Py_INCREF(m);
        held[2 * i] = s;
        held[2 * i + 1] = m;
        length[i] = PyBytes_GET_SIZE(m);
        taken = i + 1;
    }
    if (bad == -1) {
        unsigned char pk[PUBLIC_KEY_BYTES]; /* a copy: a bytearray key could change meanwhile */
        memcpy(pk, key.buf, PUBLIC_KEY_BYTES);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < ready; i++) {
            const unsigned char *sig = (const unsigned char *)PyBytes_AS_STRING(held[2 * i]);
            const unsigned char *msg = (const unsigned char *)PyBytes_AS_STRING(held[2 * i + 1]);
            if (verify_detached(sig, msg, (unsigned long long)length[i], pk) != 0) {
                bad = i;
                break;
            }
        }
        Py_END_ALLOW_THREADS
        if (bad == -1 && ready < count) {
            bad = ready;
        }
    }
    for (Py_ssize_t i = 0; i < 2 * taken; i++) {
        Py_DECREF(held[i]);
    }
    PyMem_Free(held);
    PyMem_Free(length);
    PyBuffer_Release(&key);
    if (bad == -2) {
        return NULL;
    }
    return PyLong_FromSsize_t(bad);
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_O, "Use the crypto_sign_verify_detached at this address."},
    {"first_invalid", first_invalid, METH_VARARGS,
     "first_invalid(public_key, signatures, messages) -> index of the first signature that "
     "does not verify, or -1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "backend._ed25519_batch",
    "Many Ed25519 signature checks with the GIL released once.", -1, methods,
};

PyMODINIT_FUNC PyInit__ed25519_batch(void) { return PyModule_Create(&module); }
